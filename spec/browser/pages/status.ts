// Shared by the test pages: shows what the page is doing in #status (for screenshots).
export function show(lines: Record<string, unknown>): void {
  const el = document.getElementById('status');
  if (el) {
    el.textContent = Object.entries(lines)
      .map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join('\n');
  }
}

export function errorInfo(error: unknown): { code: string; name: string; message: string } {
  const e = error as { code?: unknown; name?: unknown; message?: unknown };
  return {
    code: String(e?.code ?? ''),
    name: String(e?.name ?? ''),
    message: String(e?.message ?? error),
  };
}
