// os.fork() of a running Node process. Three things make it work on current
// Node (see docs/architecture.md, "How a real fork of Node works"):
//   1. V8 marks its heap MADV_DONTFORK: lift that around fork(), restore it
//      in the parent.
//   2. V8's platform workers sleep on a condition variable that a child would
//      inherit with phantom waiters: park every worker inside a task of ours
//      for the duration of fork(), so none waits on the platform's queue.
//      The child, which has none of them, runs V8's worker tasks on threads
//      of its own (child_workers.cc).
//   3. The child re-creates the event loop's kernel state (uv_loop_fork).
#include <dirent.h>
#include <fcntl.h>
#include <node.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>
#include <v8-platform.h>
#include <v8.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "addon.h"
#include "child_workers.h"
#include "fd.h"
#include "futex_waiter.h"
#include "threads.h"

namespace forkful {
namespace {

// True in a process created by Fork(): Node's platform workers do not exist,
// so there is nothing of theirs to park in a nested fork (its own pool, if
// it has one, is held instead: ChildPoolHold).
bool g_in_forked_child = false;

// Set (before the fork that warns) once the warning that children cannot
// have V8 worker threads was given: once per process tree.
bool g_warned_no_child_workers = false;

// ---- 2. parking V8's platform workers --------------------------------------

// Parked workers poll for their release instead of being woken: a wake-up
// of four workers right after fork() preempts the forking thread (measured:
// ~1 ms of the ~1.7 ms a small fork took, on 2 cores). The poll period
// doubles from 250 us to 2 ms, so a long fork (a big heap) costs a worker a
// wake-up per 2 ms, and a worker resumes at most one period after release.
constexpr auto kFirstPoll = std::chrono::microseconds(250);
constexpr auto kLongestPoll = std::chrono::microseconds(2000);

struct ParkingLot {
  std::mutex mu;
  std::condition_variable all_parked;  // the forking thread waits here
  std::condition_variable release;     // parked workers wait here
  int parked = 0;
  int wanted = 0;
  bool released = false;
  std::vector<pid_t> parked_tids;  // which threads took a task
};

class ParkTask : public v8::Task {
 public:
  explicit ParkTask(std::shared_ptr<ParkingLot> lot) : lot_(std::move(lot)) {}
  void Run() override {
    std::unique_lock<std::mutex> lock(lot_->mu);
    if (lot_->released) return;  // a surplus task that ran after the fork
    lot_->parked_tids.push_back(static_cast<pid_t>(syscall(SYS_gettid)));
    if (++lot_->parked == lot_->wanted) lot_->all_parked.notify_one();
    for (auto poll = kFirstPoll; !lot_->released; poll = std::min(poll * 2, kLongestPoll)) {
      lot_->release.wait_for(lock, poll);
    }
  }

 private:
  std::shared_ptr<ParkingLot> lot_;
};

// The platform workers that ever parked: whoever is missing from a parking
// that failed is named from this (Node 20 does not name its threads).
std::vector<pid_t> g_known_workers;

// A thread of this process as a message names it: "tid 123 (V8Worker,
// sleeping in futex_do_wait)".
std::string DescribeThread(pid_t tid) {
  std::string base = "/proc/self/task/" + std::to_string(tid) + "/";
  std::string comm, stat, wchan;
  ReadWholeFile((base + "comm").c_str(), &comm);
  ReadWholeFile((base + "stat").c_str(), &stat);
  ReadWholeFile((base + "wchan").c_str(), &wchan);
  while (!comm.empty() && comm.back() == '\n') comm.pop_back();
  std::string state = "gone";
  size_t close = stat.rfind(')');
  if (close != std::string::npos && close + 2 < stat.size()) {
    char c = stat[close + 2];
    state = c == 'R' ? "running" : c == 'S' || c == 'D' ? "sleeping" : std::string(1, c);
  }
  std::string out =
      "tid " + std::to_string(tid) + " (" + (comm.empty() ? "?" : comm) + ", " + state;
  if (state == "sleeping" && !wchan.empty() && wchan != "0") out += " in " + wchan;
  return out + ")";
}

// The threads that should have parked and did not, described.
std::string DescribeUnparked(const std::vector<pid_t>& parked) {
  std::vector<pid_t> candidates = g_known_workers;
  std::string prefix;
  if (candidates.empty()) {
    // No parking succeeded yet: Node 22+ names its workers V8Worker; on
    // Node 20, which does not, every other thread is a candidate.
    std::vector<pid_t> named, others;
    if (DIR* dir = opendir("/proc/self/task")) {
      while (dirent* e = readdir(dir)) {
        pid_t tid = static_cast<pid_t>(atoi(e->d_name));
        if (tid <= 0 || tid == getpid()) continue;
        std::string comm;
        ReadWholeFile(("/proc/self/task/" + std::string(e->d_name) + "/comm").c_str(), &comm);
        (comm.rfind("V8Worker", 0) == 0 ? named : others).push_back(tid);
      }
      closedir(dir);
    }
    candidates = named.empty() ? others : named;
    if (named.empty()) prefix = "one of ";
  }
  std::string out;
  for (pid_t tid : candidates) {
    if (std::find(parked.begin(), parked.end(), tid) != parked.end()) continue;
    out += (out.empty() ? "" : ", ") + DescribeThread(tid);
  }
  return out.empty() ? "no thread found" : prefix + out;
}

// Why the last Park() failed, for the error os.fork() raises.
std::string g_park_stall;

// FORKFUL_TEST_PARK_STALL (tests only) posts, before the parking tasks, a
// worker task that waits as a background job waits for this thread (as a
// background allocation waits for the GC it asked this thread for): until
// the main thread services a V8 interrupt, which it does only in
// JavaScript. "interrupt": that; a number: the task holds its worker that
// many ms (a long job).
struct TestStall {
  std::mutex mu;
  std::condition_variable cv;
  bool serviced = false;
};

class TestStallTask : public v8::Task {
 public:
  TestStallTask(v8::Isolate* isolate, std::shared_ptr<TestStall> stall, int ms)
      : isolate_(isolate), stall_(std::move(stall)), ms_(ms) {}
  void Run() override {
    if (ms_ > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(ms_));
      return;
    }
    auto* keep = new std::shared_ptr<TestStall>(stall_);
    isolate_->RequestInterrupt(
        [](v8::Isolate*, void* data) {
          auto* held = static_cast<std::shared_ptr<TestStall>*>(data);
          {
            std::lock_guard<std::mutex> lock((*held)->mu);
            (*held)->serviced = true;
          }
          (*held)->cv.notify_all();
          delete held;
        },
        keep);
    std::unique_lock<std::mutex> lock(stall_->mu);
    stall_->cv.wait_for(lock, std::chrono::seconds(60), [&] { return stall_->serviced; });
  }

 private:
  v8::Isolate* isolate_;
  std::shared_ptr<TestStall> stall_;
  int ms_;
};

void PostTestStall(v8::Isolate* isolate, node::MultiIsolatePlatform* platform) {
  const char* how = getenv("FORKFUL_TEST_PARK_STALL");
  if (how == nullptr || *how == '\0') return;
  int ms = strcmp(how, "interrupt") == 0 ? 0 : std::max(1, atoi(how));
  platform->CallOnWorkerThread(
      std::make_unique<TestStallTask>(isolate, std::make_shared<TestStall>(), ms));
}

// Holds every platform worker inside a ParkTask until destroyed. Park()
// waits at most `bound` for them and gives up (nullptr, g_park_stall says
// why) rather than blocking this thread on: a worker may be waiting for
// this very thread (a background job that needs a GC or a task of the main
// thread), which it serves only once back in JavaScript; os.fork() then
// tries again.
class ParkedWorkers {
 public:
  static std::unique_ptr<ParkedWorkers> Park(node::MultiIsolatePlatform* platform,
                                             std::chrono::milliseconds bound) {
    std::unique_ptr<ParkedWorkers> held(new ParkedWorkers());
    ParkingLot& lot = *held->lot_;
    // NumberOfWorkerThreads() counts Node's delayed-task scheduler thread
    // too, which never runs worker tasks: the workers are one fewer.
    int threads = platform->NumberOfWorkerThreads();
    int workers = threads > 1 ? threads - 1 : threads;
    {
      std::lock_guard<std::mutex> lock(lot.mu);
      lot.wanted = workers;
    }
    for (int i = 0; i < threads; i++) {
      platform->CallOnWorkerThread(std::make_unique<ParkTask>(held->lot_));
    }
    std::unique_lock<std::mutex> lock(lot.mu);
    if (lot.all_parked.wait_for(lock, bound, [&] { return lot.parked >= workers; })) {
      for (pid_t tid : lot.parked_tids) {
        if (std::find(g_known_workers.begin(), g_known_workers.end(), tid) ==
            g_known_workers.end()) {
          g_known_workers.push_back(tid);
        }
      }
      return held;
    }
    g_park_stall = std::to_string(lot.parked) + " of " + std::to_string(workers) +
                   " parked; not parked: " + DescribeUnparked(lot.parked_tids);
    lot.released = true;  // the parked ones go back to work; the rest skip their task
    lot.release.notify_all();
    return nullptr;
  }
  ~ParkedWorkers() {
    std::lock_guard<std::mutex> lock(lot_->mu);
    lot_->released = true;  // no notify: the workers see it at their next poll
  }
  ParkedWorkers(const ParkedWorkers&) = delete;
  ParkedWorkers& operator=(const ParkedWorkers&) = delete;

 private:
  ParkedWorkers() : lot_(std::make_shared<ParkingLot>()) {}
  std::shared_ptr<ParkingLot> lot_;
};

// ---- 1. V8's MADV_DONTFORK mappings ----------------------------------------
// Which mappings are DONTFORK (VmFlags `dc`) only /proc/self/smaps tells, and
// reading it walks the page tables of every mapping for its Rss: ~90 ms per
// GB of heap. /proc/self/maps lists the same mappings without the walk (and
// without the flags). The rule:
//   * Known: the `dc` set from the last smaps scan, with the maps line of
//     every mapping at that time. A mapping whose maps line is identical to
//     one that scan saw keeps the flag it had then: only madvise() on the
//     whole mapping or a replacement at the identical range with identical
//     attributes could change it unseen. V8 marks memory only right after
//     mmap()ing it (OS::Allocate), so the one way V8 could do that is a new
//     mapping at exactly the range of an old, non-DONTFORK one.
//   * At fork: read maps. If any line is not in the known set (a new or
//     changed mapping), scan smaps again (exact). Lines that vanished just
//     drop out of the known set.
//   * Lift: MADV_DOFORK over the whole address space (a few calls), not only
//     over the known `dc` ranges. Clearing a flag that is not set changes
//     nothing, so this is harmless for other mappings, and it closes the
//     one hole above: even a mapping we wrongly believe is not `dc` reaches
//     the child. (Such a mapping then stays forkable: V8 loses an
//     optimisation for child_process, nothing breaks.)
//   * Restore (parent): MADV_DONTFORK only on the known `dc` ranges whose
//     lines are still present, coalesced into contiguous runs: we never
//     mark memory that was not DONTFORK when we last looked. The remaining
//     risk is the mirror of the hole: a `dc` mapping replaced, between two
//     forks, by a foreign mapping of identical range and attributes would
//     get DONTFORK back (only another fork-without-exec of that memory
//     would notice).
// The child forgets the known set: its mappings were all lifted, and its
// layout differs from the parent's once the parent restores.

struct Range {
  uintptr_t start;
  uintptr_t end;
};

// One line of /proc/self/maps (or a header line of smaps), as text.
struct MapLine {
  uintptr_t start;
  uintptr_t end;
  const char* text;  // without the newline
  size_t len;
};

// Calls fn(MapLine) for each maps-format line in `text`; smaps' field lines
// ("Rss:", "VmFlags:") are passed to field(line, eol) instead.
template <typename OnLine, typename OnField>
void ForEachLine(const std::string& text, OnLine on_line, OnField on_field) {
  const char* p = text.data();
  const char* end = p + text.size();
  while (p < end) {
    const char* eol = static_cast<const char*>(memchr(p, '\n', end - p));
    if (eol == nullptr) eol = end;
    bool header = false;
    if ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')) {
      char* dash = nullptr;
      uintptr_t start = strtoull(p, &dash, 16);
      if (dash != nullptr && *dash == '-') {
        uintptr_t stop = static_cast<uintptr_t>(strtoull(dash + 1, nullptr, 16));
        on_line(MapLine{start, stop, p, static_cast<size_t>(eol - p)});
        header = true;
      }
    }
    if (!header) on_field(p, eol);
    p = eol + 1;
  }
}

bool HasFlag(const char* flags, const char* end, const char* flag) {
  size_t n = strlen(flag);
  for (const char* p = flags; p + n <= end; p++) {
    if ((p == flags || p[-1] == ' ') && memcmp(p, flag, n) == 0 &&
        (p + n == end || p[n] == ' ' || p[n] == '\n')) {
      return true;
    }
  }
  return false;
}

// The mappings of the last smaps scan: sorted by address, with their flag.
// Only the main thread (fork's caller) reads or replaces the known set.
struct KnownMapping {
  uintptr_t start;
  std::string line;
  bool dont_fork;
  Range range;
};
std::vector<KnownMapping> g_known;
bool g_known_valid = false;

// Scans smaps: every mapping's line and whether it is `dc`. False (errno
// set) when smaps cannot be read.
bool ScanSmaps(std::vector<KnownMapping>* out) {
  std::string text;
  if (!ReadWholeFile("/proc/self/smaps", &text)) return false;
  std::vector<KnownMapping>& known = *out;
  known.clear();
  known.reserve(text.size() / 512);
  ForEachLine(
      text,
      [&](const MapLine& l) {
        known.push_back({l.start, std::string(l.text, l.len), false, {l.start, l.end}});
      },
      [&](const char* p, const char* eol) {
        if (!known.empty() && eol - p > 8 && strncmp(p, "VmFlags:", 8) == 0) {
          known.back().dont_fork = HasFlag(p + 8, eol, "dc");
        }
      });
  return true;
}

// The DONTFORK ranges now, from the known set if every current maps line is
// in it (false otherwise). `lines` receives the current mappings.
bool DontForkFromKnown(const std::string& maps, std::vector<Range>* dc, std::vector<Range>* lines) {
  if (!g_known_valid) return false;
  size_t k = 0;
  bool all_known = true;
  ForEachLine(
      maps,
      [&](const MapLine& l) {
        lines->push_back({l.start, l.end});
        if (!all_known) return;
        while (k < g_known.size() && g_known[k].start < l.start) k++;
        if (k == g_known.size() || g_known[k].start != l.start || g_known[k].line.size() != l.len ||
            memcmp(g_known[k].line.data(), l.text, l.len) != 0) {
          all_known = false;
          return;
        }
        if (g_known[k].dont_fork) dc->push_back(g_known[k].range);
      },
      [](const char*, const char*) {});
  return all_known;
}

// Mappings madvise(MADV_DOFORK) must skip: the kernel's special mappings
// and devices, which can be VM_IO (EINVAL, and the walk stops there).
bool IsSpecial(const char* text, size_t len) {
  const char* path = static_cast<const char*>(memchr(text, '/', len));
  const char* bracket = static_cast<const char*>(memchr(text, '[', len));
  if (bracket != nullptr && (path == nullptr || bracket < path)) {
    return strncmp(bracket, "[v", 2) == 0;  // [vvar], [vvar_vclock], [vdso], [vsyscall]
  }
  return path != nullptr && static_cast<size_t>(text + len - path) > 5 &&
         strncmp(path, "/dev/", 5) == 0;
}

// Clears DONTFORK on every mapping: one madvise() per stretch of address
// space between special mappings (holes are skipped; ENOMEM reports them).
void LiftAll(const std::string& maps) {
  uintptr_t run_start = 0;
  uintptr_t run_end = 0;
  std::vector<Range> run_lines;
  auto flush = [&]() {
    if (run_end > run_start &&
        madvise(reinterpret_cast<void*>(run_start), run_end - run_start, MADV_DOFORK) != 0 &&
        errno != ENOMEM) {
      // A mapping the kernel refuses (VM_IO we did not recognise) stopped the
      // walk: do the stretch one mapping at a time.
      for (const Range& r : run_lines) {
        madvise(reinterpret_cast<void*>(r.start), r.end - r.start, MADV_DOFORK);
      }
    }
    run_lines.clear();
    run_start = run_end = 0;
  };
  ForEachLine(
      maps,
      [&](const MapLine& l) {
        Range r{l.start, l.end};
        if (IsSpecial(l.text, l.len)) {
          flush();
          return;
        }
        if (run_end == 0) run_start = l.start;
        run_end = l.end;
        run_lines.push_back(r);
      },
      [](const char*, const char*) {});
  flush();
}

// Contiguous ranges merged into one (fewer madvise calls).
std::vector<Range> Coalesce(const std::vector<Range>& ranges) {
  std::vector<Range> runs;
  for (const Range& r : ranges) {
    if (!runs.empty() && runs.back().end == r.start) {
      runs.back().end = r.end;
    } else {
      runs.push_back(r);
    }
  }
  return runs;
}

// Lifts MADV_DONTFORK for the lifetime of the object (the parent's side).
// Every thread that could map V8 memory must be stopped first: a mapping
// made after the maps are read keeps DONTFORK and is missing in the child.
// Makes no JS value (it runs while a child's pool is held): a failure is
// kept in failed_syscall()/failed_errno() for the caller to throw.
class ForkableHeap {
 public:
  ForkableHeap() {
    std::string maps;
    if (!ReadWholeFile("/proc/self/maps", &maps)) {
      Fail("open /proc/self/maps");
      return;
    }
    std::vector<Range> dc;
    std::vector<Range> lines;
    if (!DontForkFromKnown(maps, &dc, &lines)) {
      full_scan_ = true;
      g_known_valid = false;
      if (!ScanSmaps(&g_known)) {
        Fail("open /proc/self/smaps");
        return;
      }
      g_known_valid = true;
      dc.clear();
      for (const KnownMapping& m : g_known) {
        if (m.dont_fork) dc.push_back(m.range);
      }
      // The maps text read above may be older than the scan: lift by a
      // fresh one, so a mapping created in between is lifted too.
      if (!ReadWholeFile("/proc/self/maps", &maps)) {
        Fail("open /proc/self/maps");
        return;
      }
    }
    count_ = dc.size();
    runs_ = Coalesce(dc);
    LiftAll(maps);
  }
  ~ForkableHeap() {
    if (restore_) Restore();
  }
  // Puts DONTFORK back on what was DONTFORK (the parent, after fork()).
  void Restore() {
    restore_ = false;
    for (const Range& r : runs_) {
      // A mapping can vanish meanwhile (another thread unmapped it); ENOMEM
      // then only means there is nothing left to advise.
      madvise(reinterpret_cast<void*>(r.start), r.end - r.start, MADV_DONTFORK);
    }
  }
  // The child keeps everything forkable and forgets the parent's layout.
  void KeepInChild() {
    restore_ = false;
    g_known.clear();
    g_known_valid = false;
  }
  size_t size() const { return count_; }
  size_t runs() const { return runs_.size(); }
  bool full_scan() const { return full_scan_; }
  const char* failed_syscall() const { return failed_syscall_; }  // null: lifted
  int failed_errno() const { return failed_errno_; }

 private:
  void Fail(const char* syscall) {
    failed_syscall_ = syscall;
    failed_errno_ = errno;
    restore_ = false;  // nothing was lifted
  }

  const char* failed_syscall_ = nullptr;
  int failed_errno_ = 0;
  std::vector<Range> runs_;
  size_t count_ = 0;
  bool full_scan_ = false;
  bool restore_ = true;
};

// ---- the child's event loop ----------------------------------------------
// The child inherits V8 worker tasks that will never complete (their threads
// are not copied). Node drains those tasks whenever its loop runs empty, so
// the child's loop must never run empty: a ref'd prepare handle keeps it
// alive and, each iteration, asks whether anything but itself would. When
// nothing would, it drains what V8 runs in the background here, as Node
// would (DrainChildWorkers), and if that gave the loop nothing to do either,
// JS is told (it emits 'beforeExit', then 'exit' and _exits).

uv_prepare_t g_child_keeper;
Napi::FunctionReference g_on_child_idle;
std::unique_ptr<Napi::AsyncContext> g_child_idle_context;
node::MultiIsolatePlatform* g_child_platform = nullptr;
v8::Isolate* g_child_isolate = nullptr;

bool LoopAliveBesidesKeeper(uv_prepare_t* keeper) {
  uv_unref(reinterpret_cast<uv_handle_t*>(keeper));
  bool alive = uv_loop_alive(keeper->loop) != 0;
  uv_ref(reinterpret_cast<uv_handle_t*>(keeper));
  return alive;
}

void OnChildPrepare(uv_prepare_t* handle) {
  if (g_on_child_idle.IsEmpty() || LoopAliveBesidesKeeper(handle)) return;
  if (DrainChildWorkers(g_child_platform, g_child_isolate) && LoopAliveBesidesKeeper(handle)) {
    return;
  }
  Napi::Env env = g_on_child_idle.Env();
  Napi::HandleScope scope(env);
  CallFromLoop(env, g_on_child_idle, *g_child_idle_context, {Napi::String::New(env, "beforeExit")});
  if (LoopAliveBesidesKeeper(handle)) return;
  CallFromLoop(env, g_on_child_idle, *g_child_idle_context, {Napi::String::New(env, "exit")});
}

void KeepChildLoopAlive(Napi::Env env, uv_loop_t* loop, node::MultiIsolatePlatform* platform,
                        v8::Isolate* isolate, Napi::Function on_idle) {
  g_on_child_idle = Napi::Persistent(on_idle);
  g_child_platform = platform;
  g_child_isolate = isolate;
  if (g_child_idle_context) return;  // a nested fork inherited a running keeper
  g_child_idle_context = std::make_unique<Napi::AsyncContext>(env, "forkful.ForkedChild");
  uv_prepare_init(loop, &g_child_keeper);
  uv_prepare_start(&g_child_keeper, OnChildPrepare);
}

// Foreground tasks queued before fork() (a WebAssembly compile's next step,
// posted by a worker) lost their wake-up: uv_loop_fork clears the pending
// async sends. A task that does nothing sends a fresh one, and Node then
// runs them all; without it they waited for some other event (a grandchild
// with a timer pending finished an inherited compile only when it fired).
class WakeTask : public v8::Task {
 public:
  void Run() override {}
};

void WakeForInheritedTasks(node::MultiIsolatePlatform* platform, v8::Isolate* isolate) {
  std::shared_ptr<v8::TaskRunner> runner = platform->GetForegroundTaskRunner(isolate);
  if (runner) runner->PostTask(std::make_unique<WakeTask>());
}

// ---- fork() ----------------------------------------------------------------

using Clock = std::chrono::steady_clock;
double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

struct ForkTimings {
  double park_ms = 0;     // stopping V8's background threads (parked, or a pool held)
  double scan_ms = 0;     // finding the DONTFORK mappings and lifting DONTFORK
  double fork_ms = 0;     // the fork() system call, as the parent sees it
  double restore_ms = 0;  // DONTFORK back on, in the parent
  size_t mappings = 0;
  size_t runs = 0;         // contiguous stretches of them (restore calls)
  bool full_scan = false;  // smaps was read (else the known set served)
};
ForkTimings g_last_timings;

// ---- IPC channels the child must never read -------------------------------
// An inherited IPC pipe (the channel to the parent's own parent, or the
// parent's channels to its child_process children) is read by the parent:
// if the child read it too, each message would go to whichever process read
// first. uv_loop_fork() re-registers every watcher in a new epoll instance,
// and epoll tracks the open file, not the fd number, so stopping the handle
// or closing the fd afterwards still leaves the parent's socket armed there.
// Before uv_loop_fork, the child points each such fd at a socket of its own
// whose peer it keeps open and never writes: Node's handles stay valid, and
// nothing ever arrives on them. (Forked from inside such a pipe's read
// callback, libuv's read loop also goes on reading in the child: it now
// reads nothing.)

// The fds of the loop's IPC pipes (uv_pipe_t.ipc), found in the child.
std::vector<int> IpcPipeFds(uv_loop_t* loop) {
  std::vector<int> fds;
  uv_walk(
      loop,
      [](uv_handle_t* h, void* arg) {
        if (h->type != UV_NAMED_PIPE || reinterpret_cast<uv_pipe_t*>(h)->ipc == 0) return;
        uv_os_fd_t fd;
        if (uv_is_closing(h) == 0 && uv_fileno(h, &fd) == 0) {
          static_cast<std::vector<int>*>(arg)->push_back(fd);
        }
      },
      &fds);
  return fds;
}

// In the child, before uv_loop_fork. Failing here would leave the child
// stealing its parent's messages: it ends instead, saying why.
void SilenceInheritedFds(const std::vector<int>& fds) {
  for (int fd : fds) {
    int flags = fcntl(fd, F_GETFD);
    if (flags < 0) continue;  // not open
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0 ||
        dup3(pair[0], fd, (flags & FD_CLOEXEC) != 0 ? O_CLOEXEC : 0) < 0) {
      fprintf(stderr, "forkful: cannot detach inherited IPC fd %d in the child: %s\n", fd,
              strerror(errno));
      _exit(70);
    }
    close(pair[0]);
    // pair[1] stays open, unused: the silent peer.
  }
}

// The parent's warning (after fork(): a warning emitted before it would be
// queued in the child too) when its children cannot have V8 worker threads.
void WarnNoChildWorkers(Napi::Env env, const std::string& why) {
  Napi::Object process = env.Global().Get("process").As<Napi::Object>();
  Napi::Object options = Napi::Object::New(env);
  options.Set("type", "ForkWarning");
  options.Set("code", "FORKFUL_CHILD_JIT");
  std::string version = process.Get("version").ToString();
  process.Get("emitWarning")
      .As<Napi::Function>()
      .Call(process,
            {Napi::String::New(
                 env, "forkful cannot give forked children V8 background threads on this Node (" +
                          version + ": " + why +
                          "). Code first run hot in a child may run many times slower than "
                          "in the parent. Run it once in the parent before forking, or use the "
                          "spawn start method (setStartMethod('spawn') or "
                          "FORKFUL_START_METHOD=spawn) for CPU-bound children."),
             options});
}

// What fork() returns when V8's workers did not all park within the bound
// (nothing was done; parkStall() says which did not).
constexpr int kNotParked = -1;

// fork(onChildIdle, parkBoundMs): onChildIdle runs in the child whenever its
// event loop has nothing left to do; -1 when the platform workers did not
// all park within parkBoundMs (os.fork() runs JavaScript, then retries).
Napi::Value Fork(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsFunction()) throw Napi::TypeError::New(env, "onChildIdle must be a function");
  if (!info[1].IsNumber() || !(info[1].As<Napi::Number>().DoubleValue() > 0)) {
    throw Napi::TypeError::New(env, "parkBoundMs must be a positive number");
  }
  auto park_bound = std::chrono::milliseconds(
      static_cast<int64_t>(std::min(info[1].As<Napi::Number>().DoubleValue(), 3.6e6)));
  if (!OnMainThread()) {
    ThrowTyped(env, "ForkError",
               "fork() can only be called from the main thread; a Worker or Thread cannot fork");
  }
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  node::Environment* node_env = node::GetCurrentEnvironment(isolate->GetCurrentContext());
  node::MultiIsolatePlatform* platform = node::GetMultiIsolatePlatform(node_env);
  uv_loop_t* loop = node::GetCurrentEventLoop(isolate);
  if (platform == nullptr || loop == nullptr) {
    ThrowTyped(env, "ForkError", "cannot reach Node's platform or event loop to prepare fork()");
  }

  // Frames send() queued are written once, by the parent (the child would
  // inherit the queue too).
  FlushQueuedFrames();
  const ChildWorkersSupport& child_workers = CheckChildWorkers(platform);
  bool warn = !child_workers.available && !child_workers.turned_off && !g_warned_no_child_workers;

  // Every thread that runs V8's background work stops before the mappings
  // are read: Node's workers parked (first fork), or this child's own pool
  // held (nested fork). A task still running after the read could map memory
  // that V8 marks DONTFORK at once (a WebAssembly compile's code space, made
  // by a pool thread right after WebAssembly.compile()), and fork() would
  // leave it out: the grandchild then jumped into unmapped code (SIGSEGV in
  // 1 run of 6-30 of child-jit's nested mode on Node 26).
  std::unique_ptr<ParkedWorkers> parked;
  Clock::time_point t0 = Clock::now();
  if (!g_in_forked_child) {
    if (g_park_stall.empty()) PostTestStall(isolate, platform);
    g_park_stall.clear();
    parked = ParkedWorkers::Park(platform, park_bound);
    if (!parked) return Napi::Number::New(env, kNotParked);
  }
  // From here until the hold is released nothing may post a V8 task from
  // this thread (it would wait for the lock the hold keeps), so no JS value
  // is made in between: ForkableHeap only reports its failure.
  std::optional<ChildPoolHold> held(std::in_place, env);
  Clock::time_point t1 = Clock::now();
  ForkableHeap heap;
  if (heap.failed_syscall() != nullptr) {
    held.reset();
    ThrowErrno(env, heap.failed_syscall(), heap.failed_errno());
  }
  Clock::time_point t2 = Clock::now();

  // Set before fork(): children inherit it and do not warn again.
  g_warned_no_child_workers |= warn;
  fflush(nullptr);  // nothing buffered in C stdio is written twice
  // The async waits' waiter threads are held outside their critical
  // sections across fork(): the child, which has none of them, finds their
  // state whole and drops the parent's pending waits.
  sync::SharedWaitersBeforeFork();
  pid_t pid = fork();
  int fork_errno = errno;
  if (pid != 0) sync::SharedWaitersAfterForkParent();
  if (pid == 0) sync::SharedWaitersAfterForkChild(env);
  if (pid != 0) held.reset();  // the parent's pool runs again
  if (pid < 0) ThrowErrno(env, "fork", fork_errno);
  Clock::time_point t3 = Clock::now();
  if (pid > 0) heap.Restore();
  g_last_timings = {Ms(t1 - t0), Ms(t2 - t1), Ms(t3 - t2),     Ms(Clock::now() - t3),
                    heap.size(), heap.runs(), heap.full_scan()};
  if (pid == 0) {
    g_in_forked_child = true;
    if (!child_workers.available) {
      // No worker will ever run V8's background jobs here: a hot loop
      // waiting for on-stack replacement would stay on the slow tiers for
      // good, and WebAssembly.compile would wait forever. Both compile on
      // this thread instead (still slow where Maglev is on: the parent
      // warned, unless FORKFUL_CHILD_WORKERS=0 asked for this). Set here, in
      // one call, rather than through node:v8, which each child would
      // compile.
      v8::V8::SetFlagsFromString("--no-concurrent-osr --no-wasm-async-compilation");
    }
    heap.KeepInChild();
    // The parked workers' condition variable has waiters that do not exist
    // here: signalling it would hang. Leave the lot untouched, forever.
    static_cast<void>(parked.release());
    SilenceInheritedFds(IpcPipeFds(loop));
    int err = uv_loop_fork(loop);
    if (err != 0) {
      fprintf(stderr, "forkful: uv_loop_fork failed in the child: %s\n", uv_strerror(err));
      _exit(70);
    }
    if (child_workers.available) {
      // V8's worker tasks (compile jobs, concurrent OSR, GC) run on threads
      // of this process from now on, with those queued in a pool held across
      // the fork. Only now: a task posts foreground tasks, whose wake-up
      // (uv_async_send) must reach the loop uv_loop_fork made, not race it
      // (a send during uv_loop_fork writes to the eventfd it is replacing,
      // and libuv aborts on that write's error).
      StartChildWorkers(platform, held->TakeInChild());
    }
    WakeForInheritedTasks(platform, isolate);
    KeepChildLoopAlive(env, loop, platform, isolate, info[0].As<Napi::Function>());
    ThreadsAfterForkChild();
  }
  if (pid > 0 && warn) WarnNoChildWorkers(env, child_workers.why);
  return Napi::Number::New(env, pid);
}

// Where the time of the last fork() went: diagnostics for the benchmarks.
Napi::Value LastForkTimings(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("parkMs", g_last_timings.park_ms);
  out.Set("scanMs", g_last_timings.scan_ms);
  out.Set("forkMs", g_last_timings.fork_ms);
  out.Set("restoreMs", g_last_timings.restore_ms);
  out.Set("dontForkMappings", static_cast<double>(g_last_timings.mappings));
  out.Set("dontForkRuns", static_cast<double>(g_last_timings.runs));
  out.Set("fullScan", g_last_timings.full_scan);
  return out;
}

// Why the last fork() returned kNotParked: how many parked, and which
// threads did not, with their state.
Napi::Value ParkStall(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), g_park_stall);
}

Napi::Value InForkedChild(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), g_in_forked_child);
}

// Count of mappings V8 marked DONTFORK (diagnostics and benchmarks): reads
// smaps, as a fork does when the mappings changed since the last one.
Napi::Value CountDontForkMappings(const Napi::CallbackInfo& info) {
  size_t n = 0;
  std::vector<KnownMapping> known;
  if (!ScanSmaps(&known)) ThrowErrno(info.Env(), "open /proc/self/smaps");
  for (const KnownMapping& m : known) n += m.dont_fork ? 1 : 0;
  return Napi::Number::New(info.Env(), static_cast<double>(n));
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("fork", Napi::Function::New(env, Fork));
  exports.Set("inForkedChild", Napi::Function::New(env, InForkedChild));
  exports.Set("parkStall", Napi::Function::New(env, ParkStall));
  exports.Set("lastForkTimings", Napi::Function::New(env, LastForkTimings));
  exports.Set("countDontForkMappings", Napi::Function::New(env, CountDontForkMappings));
}

const Registration reg{"fork", Init};

}  // namespace
}  // namespace forkful
