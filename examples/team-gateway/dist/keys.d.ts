/**
 * Gateway keys and upstream keys, by name only.
 *
 * The checklist's rule: gateway keys are distinct from upstream provider keys
 * and rotate on their own. Bindings therefore hold environment variable
 * *names*; the values are read from the environment when a request arrives.
 */
import type { Provider } from "./router.js";
export interface KeyBinding {
    /** Name of the env var holding the key callers present to the gateway. */
    readonly gatewayKeyEnv: string;
    /** Name of the env var holding the provider key the gateway forwards with. */
    readonly upstreamKeyEnv: string;
    readonly provider: Provider;
}
export type Env = Readonly<Record<string, string | undefined>>;
/** Problems with `bindings` under `env`; empty when they are safe to serve. */
export declare function checkKeySeparation(bindings: readonly KeyBinding[], env: Env): string[];
/** The binding whose gateway key is `presented`, or undefined. */
export declare function authenticate(presented: string | undefined, bindings: readonly KeyBinding[], env: Env): KeyBinding | undefined;
/** The upstream key for `binding`; throws when its env var is unset. */
export declare function upstreamKey(binding: KeyBinding, env: Env): string;
/** The header a provider expects its key in. */
export declare function upstreamAuthHeader(provider: Provider, key: string): [string, string];
