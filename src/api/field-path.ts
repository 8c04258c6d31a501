// Field paths written the way the API server writes them in its errors:
// spec.tools[0], spec.resourceQuota.hard[requests.cpu], metadata.labels[builds.toolforge.org/tool].

export function child(path: string, name: string): string {
  return path === '' ? name : `${path}.${name}`;
}

export function index(path: string, i: number): string {
  return `${path}[${i}]`;
}

export function key(path: string, k: string): string {
  return `${path}[${k}]`;
}
