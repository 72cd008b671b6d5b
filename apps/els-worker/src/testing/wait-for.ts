/** Polls a named condition until it holds, failing with its name after `timeoutMs` (no fixed sleeps). */
export async function waitFor(
  name: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  intervalMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${name}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
