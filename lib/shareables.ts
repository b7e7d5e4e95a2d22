// Every kind of forkful object that crosses to another process or thread by
// handle, and how each is revived there. The entry points (lib/index.ts,
// forkful/multiprocessing, forkful/threading, and the programs a spawned
// child or a Thread runs) install this table: a value decoded anywhere they
// were loaded finds its kind, whatever module the receiving code imported.
// Lower layers never load it (transfer/shareable.ts only holds the table).
import { connectionRevivers } from './multiprocessing/connection';
import { queueRevivers } from './multiprocessing/queue/queues';
import { managedRevivers } from './multiprocessing/portable/managed';
import { portableQueueRevivers } from './multiprocessing/portable/queue';
import { portableSharedctypesRevivers } from './multiprocessing/portable/sharedctypes';
import { shareableListRevivers } from './multiprocessing/shareable-list';
import { sharedMemoryRevivers } from './multiprocessing/shared-memory';
import { barrierRevivers } from './synchronize/barrier';
import { conditionRevivers } from './synchronize/condition';
import { eventRevivers } from './synchronize/event';
import { lockRevivers } from './synchronize/lock';
import { semaphoreRevivers } from './synchronize/semaphore';
import { sharedctypesRevivers } from './synchronize/sharedctypes';
import { localRevivers } from './threading/local';
import { installRevivers } from './transfer/shareable';

installRevivers({
  ...lockRevivers,
  ...semaphoreRevivers,
  ...conditionRevivers,
  ...eventRevivers,
  ...barrierRevivers,
  ...sharedctypesRevivers,
  ...connectionRevivers,
  ...queueRevivers,
  ...managedRevivers,
  ...portableQueueRevivers,
  ...portableSharedctypesRevivers,
  ...sharedMemoryRevivers,
  ...shareableListRevivers,
  ...localRevivers,
});
