/** The HTTP gateway: authenticate, route, forward with the upstream key, stream back, audit. */
import { type Server } from "node:http";
import { type Env, type KeyBinding } from "./keys.js";
import { type Route } from "./router.js";
export declare const MAX_BODY_BYTES: number;
export interface GatewayOptions {
    readonly routes: readonly Route[];
    readonly keys: readonly KeyBinding[];
    readonly env?: Env;
    readonly log?: (line: string) => void;
}
/** An http.Server serving the gateway; call `.listen()` on it. */
export declare function createGateway(options: GatewayOptions): Server;
