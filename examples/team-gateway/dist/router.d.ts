/** Longest-prefix routing from gateway paths to upstream providers. */
export type Provider = "anthropic" | "openai";
export interface Route {
    readonly prefix: string;
    readonly upstream: string;
    readonly provider: Provider;
}
export interface Match {
    readonly route: Route;
    readonly url: string;
}
export interface Router {
    readonly routes: readonly Route[];
    resolve(path: string): Match | undefined;
}
export declare class RouteError extends Error {
    readonly name = "RouteError";
}
/** A router over `routes`; throws RouteError on an invalid or duplicate route. */
export declare function createRouter(routes: readonly Route[]): Router;
