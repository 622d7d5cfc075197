/**
 * A module resolve hook (node:module register) that lets an invariant file
 * anywhere on disk `import ... from 'mmcheck'` and get this mmcheck's
 * invariant API, even where mmcheck is not installed as a package.
 */
export async function resolve(specifier: string, context: { data?: unknown }, next: (s: string, c: unknown) => Promise<unknown>): Promise<unknown> {
  if (specifier === 'mmcheck') return { url: apiUrl, shortCircuit: true };
  return next(specifier, context);
}

let apiUrl = '';

export function initialize(data: { apiUrl: string }): void {
  apiUrl = data.apiUrl;
}
