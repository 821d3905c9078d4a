// A worker that crashes on its first message, for fail-over tests.
declare const self: { onmessage: ((event: MessageEvent) => void) | null };
self.onmessage = () => {
  throw new Error("coordinator worker broke on purpose");
};
