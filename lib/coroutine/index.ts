// forkful/coroutine: filled by its own issue.
export {};
