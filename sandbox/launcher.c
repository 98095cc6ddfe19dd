/*
 * The sandbox launcher: one exec that prepares a sandbox process the way the fallback chain
 * `setsid setpriv --pdeathsig KILL nice -n N bash -c … env -u SHLVL` does (sandbox/spawn.ts),
 * for about 0.6 ms of CPU instead of about 4.5 ms (five programs started one after another).
 * Built by the gateway with the system's C compiler when there is one (sandbox/launcher.ts).
 *
 * Usage: airlock-launcher NICENESS PROGRAM [ARG…]
 *
 * In order, then execv(PROGRAM, [PROGRAM, ARG…]) with the environment it was given:
 *   1. setsid(): a new session and process group, so the gateway can kill the group;
 *   2. the parent-death signal SIGKILL: the kernel kills the process when the gateway's
 *      spawning thread ends, however it ends;
 *   3. niceness NICENESS, for the process and for its scheduler autogroup (with
 *      kernel.sched_autogroup_enabled a nice value only weighs a process within its
 *      autogroup; writing /proc/self/autogroup may fail where autogroups are off);
 *   4. core-file size limit 0 (soft and hard): a core file would be the process's whole
 *      memory written outside the sandbox;
 *   5. every file descriptor above 2 closed: whatever the gateway inherited without
 *      close-on-exec (Node's net.Socket({ fd }) adopts a raw descriptor with no permission
 *      check).
 * Any failure of steps 1, 2, 4 or 5 ends it with status 127 and a message on stderr,
 * before PROGRAM runs.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

static int fail(const char *step) {
  fprintf(stderr, "airlock-launcher: %s: %s\n", step, strerror(errno));
  return 127;
}

/* Closes every descriptor above 2: close_range(2) where the kernel has it (5.9+), else
 * each one listed in /proc/self/fd. */
static int close_inherited(void) {
#ifdef SYS_close_range
  if (syscall(SYS_close_range, 3U, ~0U, 0U) == 0) return 0;
#endif
  DIR *dir = opendir("/proc/self/fd");
  if (dir == NULL) return -1;
  int own = dirfd(dir);
  int fds[1024];
  int count = 0;
  struct dirent *entry;
  while ((entry = readdir(dir)) != NULL && count < 1024) {
    char *end;
    long fd = strtol(entry->d_name, &end, 10);
    if (*end == '\0' && end != entry->d_name && fd > 2 && fd != own) fds[count++] = (int)fd;
  }
  closedir(dir);
  for (int i = 0; i < count; i++) close(fds[i]);
  /* More than 1024 open: list again until none is left. */
  return count == 1024 ? close_inherited() : 0;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: airlock-launcher NICENESS PROGRAM [ARG...]\n");
    return 127;
  }
  char *end;
  long niceness = strtol(argv[1], &end, 10);
  if (*end != '\0' || niceness < 0 || niceness > 19) {
    fprintf(stderr, "airlock-launcher: bad niceness %s\n", argv[1]);
    return 127;
  }
  pid_t parent = getppid();
  if (setsid() < 0) return fail("setsid");
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) return fail("parent-death signal");
  /* The parent may have ended before the signal was armed. */
  if (getppid() != parent) return 127;
  if (setpriority(PRIO_PROCESS, 0, (int)niceness) != 0) return fail("niceness");
  int autogroup = open("/proc/self/autogroup", O_WRONLY | O_CLOEXEC);
  if (autogroup >= 0) {
    char text[8];
    int length = snprintf(text, sizeof text, "%ld", niceness);
    if (write(autogroup, text, (size_t)length) < 0) { /* autogroups are off: fine */ }
    close(autogroup);
  }
  struct rlimit none = {0, 0};
  if (setrlimit(RLIMIT_CORE, &none) != 0) return fail("core-file limit");
  if (close_inherited() != 0) return fail("closing inherited descriptors");
  execv(argv[2], argv + 2);
  return fail("exec");
}
