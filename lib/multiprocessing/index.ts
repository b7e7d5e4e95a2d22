// forkful/multiprocessing: filled by its own issue.
export {};
