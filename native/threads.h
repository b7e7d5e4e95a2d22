// What fork.cc tells threads.cc (the count of other JS threads fork() warns
// about).
#pragma once

namespace forkful {

// In a forked child, once its own threads run: the loops and threads there
// now are the child's baseline (see threads.cc).
void ThreadsAfterForkChild();

}  // namespace forkful
