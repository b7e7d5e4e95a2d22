// forkful/threading: filled by its own issue.
export {};
export { Lock, RLock, Semaphore, BoundedSemaphore, Condition, Event, Barrier } from '../synchronize';
