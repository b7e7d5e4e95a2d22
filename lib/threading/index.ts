// forkful/threading: filled by its own issue.
export {};
