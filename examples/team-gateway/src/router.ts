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

export class RouteError extends Error {
  override readonly name = "RouteError";
}

const PROVIDERS: ReadonlySet<string> = new Set<Provider>(["anthropic", "openai"]);

function checkRoute(route: Route): void {
  if (!route.prefix.startsWith("/")) {
    throw new RouteError(`route prefix ${JSON.stringify(route.prefix)} must start with "/"`);
  }
  if (route.prefix.length > 1 && route.prefix.endsWith("/")) {
    throw new RouteError(`route prefix ${JSON.stringify(route.prefix)} must not end with "/"`);
  }
  if (!PROVIDERS.has(route.provider)) {
    throw new RouteError(`unknown provider ${JSON.stringify(route.provider)}`);
  }
  let url: URL;
  try {
    url = new URL(route.upstream);
  } catch {
    throw new RouteError(`upstream ${JSON.stringify(route.upstream)} is not a URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new RouteError(`upstream ${route.upstream} must be http or https`);
  }
}

function matches(prefix: string, path: string): boolean {
  if (prefix === "/") {
    return true;
  }
  return path === prefix || path.startsWith(`${prefix}/`) || path.startsWith(`${prefix}?`);
}

function join(upstream: string, rest: string): string {
  const base = upstream.endsWith("/") ? upstream.slice(0, -1) : upstream;
  if (rest === "" || rest.startsWith("?")) {
    return `${base}/${rest}`;
  }
  return `${base}${rest.startsWith("/") ? rest : `/${rest}`}`;
}

/** A router over `routes`; throws RouteError on an invalid or duplicate route. */
export function createRouter(routes: readonly Route[]): Router {
  const seen = new Set<string>();
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
    resolve(path: string): Match | undefined {
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
