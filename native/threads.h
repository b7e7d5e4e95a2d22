// What fork.cc tells threads.cc (the count of other JS threads fork() warns
// about).
#pragma once

namespace forkful {

// In a forked child, once its own threads run: the loops the parent had are
// the child's baseline, without a scan (see threads.cc).
void ThreadsAfterForkChild();

}  // namespace forkful
