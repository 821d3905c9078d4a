// A worker that takes its first message and never returns, as a hung one would.
declare const self: { onmessage: ((event: MessageEvent) => void) | null };
self.onmessage = () => {
  for (;;) {
    // Busy forever; terminate() still ends a thread that runs JavaScript.
  }
};
