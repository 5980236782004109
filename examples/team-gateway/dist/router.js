/** Longest-prefix routing from gateway paths to upstream providers. */
export class RouteError extends Error {
    name = "RouteError";
}
const PROVIDERS = new Set(["anthropic", "openai"]);
function checkRoute(route) {
    if (!route.prefix.startsWith("/")) {
        throw new RouteError(`route prefix ${JSON.stringify(route.prefix)} must start with "/"`);
    }
    if (route.prefix.length > 1 && route.prefix.endsWith("/")) {
        throw new RouteError(`route prefix ${JSON.stringify(route.prefix)} must not end with "/"`);
    }
    if (!PROVIDERS.has(route.provider)) {
        throw new RouteError(`unknown provider ${JSON.stringify(route.provider)}`);
    }
    let url;
    try {
        url = new URL(route.upstream);
    }
    catch {
        throw new RouteError(`upstream ${JSON.stringify(route.upstream)} is not a URL`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
        throw new RouteError(`upstream ${route.upstream} must be http or https`);
    }
}
function matches(prefix, path) {
    if (prefix === "/") {
        return true;
    }
    return path === prefix || path.startsWith(`${prefix}/`) || path.startsWith(`${prefix}?`);
}
function join(upstream, rest) {
    const base = upstream.endsWith("/") ? upstream.slice(0, -1) : upstream;
    if (rest === "" || rest.startsWith("?")) {
        return `${base}/${rest}`;
    }
    return `${base}${rest.startsWith("/") ? rest : `/${rest}`}`;
}
/** A router over `routes`; throws RouteError on an invalid or duplicate route. */
export function createRouter(routes) {
    const seen = new Set();
    for (const route of routes) {
        checkRoute(route);
        if (seen.has(route.prefix)) {
            throw new RouteError(`duplicate route prefix ${route.prefix}`);
        }
        seen.add(route.prefix);
    }
    const ordered = [...routes].sort((a, b) => b.prefix.length - a.prefix.length);
    return {
        routes: ordered,
        resolve(path) {
            if (path.includes("..")) {
                return undefined;
            }
            const route = ordered.find((r) => matches(r.prefix, path));
            if (route === undefined) {
                return undefined;
            }
            const rest = route.prefix === "/" ? path : path.slice(route.prefix.length);
            return { route, url: join(route.upstream, rest) };
        },
    };
}
