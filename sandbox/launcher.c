/*
 * The sandbox launcher: one exec that prepares a sandbox process the way the fallback chain
 * `setsid setpriv --pdeathsig KILL … nice -n N bash -c … env -u SHLVL` does (sandbox/spawn.ts),
 * for about 0.6 ms of CPU instead of about 4.5 ms (five programs started one after another).
 * Built by the gateway with the system's C compiler when there is one (sandbox/launcher.ts).
 *
 * Usage: airlock-launcher GATEWAY_PID NICENESS [--uid=UID] PROGRAM [ARG…]
 *        airlock-launcher GATEWAY_PID NICENESS --uid=UID --reap
 * The second form only does step 2 and exits 0: it ends whatever still runs under UID when
 * the gateway gives the id back (an escaped process's children must not outlive its execution).
 *
 * In order, then execv(PROGRAM, ["deno", ARG…]) with the environment it was given (argv[0] is
 * the runtime's name, not where it is installed: the code reads it as `process.argv0`):
 *   1. setpgid(0, 0): a process group of its own, so the gateway can kill the group. Not a
 *      session of its own: with kernel.sched_autogroup_enabled a new session is a new
 *      scheduler autogroup, which weighs as much as the gateway's whole session and whose
 *      niceness a process without CAP_SYS_ADMIN may set at most once per 100 ms machine-wide
 *      (Linux's autogroup rate limit). In the gateway's autogroup the niceness below weighs
 *      it against the gateway itself;
 *      It also gives up the controlling terminal (TIOCNOTTY), which it would share with a
 *      gateway started in a terminal;
 *   2. with --uid: no new privileges and an empty capability bounding set, then no
 *      supplementary groups, UID as the real, effective and saved group id and user id (a
 *      gateway running as root: a runtime escape then reaches a user that owns nothing, not
 *      root's files); then every other process of UID killed, UID's keyrings emptied (user,
 *      user-session and persistent) and the System V IPC objects it owns or created removed
 *      (what an earlier holder of the id left; status 126 when the id cannot be made clean).
 *      Before step 3: Linux clears the parent-death signal when the credentials change
 *      (prctl(2));
 *   3. the parent-death signal SIGKILL, then a check that the parent is still GATEWAY_PID
 *      (the gateway may have died before the signal was armed: then nothing would kill this
 *      process with it);
 *   4. NICENESS added to the niceness it inherited (as nice(1) does, at most 19);
 *   5. core-file size limit 0 (soft and hard): a core file would be the process's whole
 *      memory written outside the sandbox;
 *   6. every file descriptor above 2 closed: whatever the gateway inherited without
 *      close-on-exec (Node's net.Socket({ fd }) adopts a raw descriptor with no permission
 *      check);
 *   7. no new privileges, and no capabilities at all (bounding set, ambient, permitted,
 *      effective, inheritable): a gateway running as root would otherwise pass on every
 *      capability it has, and the runtime's permission checks would be the only layer.
 * Any failure of steps 1, 2, 3, 5, 6 or 7 ends it with status 127 and a message on stderr,
 * before PROGRAM runs.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <linux/keyctl.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ioctl.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
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

static long at_most_19(long value) {
  return value > 19 ? 19 : value;
}

/* No new privileges, then no capabilities: the bounding set first (that needs CAP_SETPCAP,
 * which a process without it has no capabilities to drop anyway), then ambient, then the
 * process's own sets. */
static int drop_privileges(void) {
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
  for (int cap = 0; cap <= 63; cap++) {
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL && errno != EPERM) {
      return -1;
    }
  }
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
    return -1;
  }
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  return (int)syscall(SYS_capset, &header, data);
}

/* Step 1: no controlling terminal. The process stays in the gateway's session (see step 1 in
 * the header), and a gateway started in a terminal (`exec`, an interactive `serve`, `docker run
 * -t`) would hand it that terminal: TIOCSTI pushes input the operator's shell runs, and reading
 * it takes the operator's keystrokes (red team k1). TIOCNOTTY detaches only this process when
 * it does not lead the session. No terminal (ENXIO, ENOTTY) is the usual case. */
static int detach_terminal(void) {
  int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return errno == ENXIO || errno == ENOENT || errno == ENODEV ? 0 : -1;
  int result = ioctl(fd, TIOCNOTTY);
  int saved = errno;
  close(fd);
  if (result != 0 && saved != ENOTTY) return -1;
  /* Checked: /dev/tty must no longer open. */
  fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd >= 0) {
    close(fd);
    errno = EPERM;
    return -1;
  }
  return 0;
}

/* become()'s answer when the id itself cannot be made clean (exit status 126): the gateway
 * stops using that id, not the launcher. */
#define ID_UNUSABLE (-2)

/* Removes, as UID, the System V message queues, shared memory segments and semaphore sets
 * UID owns or created (listed in /proc/sysvipc): an earlier holder of the id left them for the
 * next one to read, and neither a kill nor PrivateTmp= reaches them (red team m4). The creator
 * (`cuid`) counts, not only the owner: the owner may hand an object to any uid with IPC_SET
 * (a leftover set owner 65534 and survived every reap, red team rt-n3 B6), the creator stays,
 * and a creator may still remove it. Group columns do not count: another id's leftover may set
 * an object's group to this id, and this id could not remove it. A table that cannot be read
 * (no SysV IPC) has nothing to remove. */
static int remove_ipc(uid_t uid) {
  static const char *tables[] = {"/proc/sysvipc/shm", "/proc/sysvipc/msg", "/proc/sysvipc/sem"};
  for (int t = 0; t < 3; t++) {
    FILE *file = fopen(tables[t], "r");
    if (file == NULL) continue;
    char line[512];
    int failed = 0;
    /* The header names the columns; `id` is the second and `uid` follows `perms` and the
     * size columns, at a place that differs per table: found by name. */
    int id_col = -1, uid_col = -1, cuid_col = -1;
    if (fgets(line, sizeof line, file) != NULL) {
      int col = 0;
      for (char *word = strtok(line, " \t\n"); word != NULL; word = strtok(NULL, " \t\n"), col++) {
        if (strcmp(word, "id") == 0 || strcmp(word, "shmid") == 0 || strcmp(word, "msqid") == 0 ||
            strcmp(word, "semid") == 0) {
          id_col = col;
        }
        if (strcmp(word, "uid") == 0 && uid_col < 0) uid_col = col;
        if (strcmp(word, "cuid") == 0 && cuid_col < 0) cuid_col = col;
      }
    }
    /* Without a creator column the objects cannot all be found: the id is not clean. */
    if (id_col >= 0 && uid_col >= 0 && cuid_col < 0) failed = 1;
    while (id_col >= 0 && uid_col >= 0 && cuid_col >= 0 && fgets(line, sizeof line, file) != NULL) {
      long id = -1, owner = -1, creator = -1;
      int col = 0;
      for (char *word = strtok(line, " \t\n"); word != NULL; word = strtok(NULL, " \t\n"), col++) {
        if (col == id_col) id = strtol(word, NULL, 10);
        if (col == uid_col) owner = strtol(word, NULL, 10);
        if (col == cuid_col) creator = strtol(word, NULL, 10);
      }
      if (id < 0 || (owner != (long)uid && creator != (long)uid)) continue;
      int result = t == 0   ? shmctl((int)id, IPC_RMID, NULL)
                   : t == 1 ? msgctl((int)id, IPC_RMID, NULL)
                            : semctl((int)id, 0, IPC_RMID);
      if (result != 0 && errno != EINVAL && errno != EIDRM) failed = 1;
    }
    fclose(file);
    if (failed) return -1;
  }
  return 0;
}

/* Empties, as the id, the keyrings every uid has that outlive its processes: the user keyring,
 * the user-session keyring (the session keyring of a process without one) and the persistent
 * keyring (kept by the kernel for days after its last use). A leftover's key in any of them
 * was read by the id's next holder (red team m4: user keyring; rt-n3 B7: persistent and
 * user-session). ENOSYS, and EOPNOTSUPP for a kernel without persistent keyrings: nothing to
 * empty. Any other failure (a keyring its owner made unwritable with KEYCTL_SETPERM): the id
 * cannot be made clean. */
static int clear_keyrings(void) {
  if (syscall(SYS_keyctl, KEYCTL_CLEAR, KEY_SPEC_USER_KEYRING) < 0 && errno != ENOSYS &&
      errno != ENOKEY) {
    return ID_UNUSABLE;
  }
  if (syscall(SYS_keyctl, KEYCTL_CLEAR, KEY_SPEC_USER_SESSION_KEYRING) < 0 && errno != ENOSYS &&
      errno != ENOKEY) {
    return ID_UNUSABLE;
  }
  /* Linked into this process's (new, empty) session keyring to be reached, unlinked after. */
  long persistent = syscall(SYS_keyctl, KEYCTL_GET_PERSISTENT, (uid_t)-1, KEY_SPEC_SESSION_KEYRING);
  if (persistent < 0) {
    return errno == ENOSYS || errno == EOPNOTSUPP ? 0 : ID_UNUSABLE;
  }
  int cleared = syscall(SYS_keyctl, KEYCTL_CLEAR, persistent) == 0;
  syscall(SYS_keyctl, KEYCTL_UNLINK, persistent, KEY_SPEC_SESSION_KEYRING);
  return cleared ? 0 : ID_UNUSABLE;
}

/* Step 2: the bounding set emptied while CAP_SETPCAP is still held, then the ids, then what an
 * earlier holder of the id may have left: every process still running under it (a runtime
 * escape's leftover would read and rewrite this one's memory through /proc, red team k1)
 * killed, its System V IPC objects removed, and the kernel keyrings that outlive processes
 * emptied (clear_keyrings; a new session keyring instead of the gateway's). */
static int become(uid_t uid) {
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
  for (int cap = 0; cap <= 63; cap++) {
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL && errno != EPERM) return -1;
  }
  gid_t gid = (gid_t)uid;
  if (setgroups(0, NULL) != 0) return -1;
  if (setresgid(gid, gid, gid) != 0) return -1;
  if (setresuid(uid, uid, uid) != 0) return -1;
  /* Checked, not assumed: a kernel or seccomp policy that ignored a call must not leave it. */
  uid_t r, e, s;
  if (getresuid(&r, &e, &s) != 0 || r != uid || e != uid || s != uid) return -1;
  /* As this id, -1 reaches exactly the processes of this id but this one (Linux takes the
   * task list lock for it: a forking leftover cannot slip past). ESRCH: none. */
  if (kill(-1, SIGKILL) != 0 && errno != ESRCH) return -1;
  if (remove_ipc(uid) != 0) return ID_UNUSABLE;
  if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL) < 0 && errno != ENOSYS) return -1;
  /* A keyring its owner made unwritable (KEYCTL_SETPERM) cannot be emptied: the id is
   * unusable, not the launcher (red team m4). */
  return clear_keyrings();
}

static int unusable(uid_t uid) {
  fprintf(stderr, "airlock-launcher: id %u cannot be made clean: %s\n", (unsigned)uid,
          strerror(errno));
  return 126;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: airlock-launcher GATEWAY_PID NICENESS [--uid=UID] PROGRAM [ARG...]\n");
    return 127;
  }
  char *end;
  long gateway = strtol(argv[1], &end, 10);
  if (*end != '\0' || gateway < 2) {
    fprintf(stderr, "airlock-launcher: bad gateway pid %s\n", argv[1]);
    return 127;
  }
  long increment = strtol(argv[2], &end, 10);
  if (*end != '\0' || increment < 0 || increment > 19) {
    fprintf(stderr, "airlock-launcher: bad niceness %s\n", argv[2]);
    return 127;
  }
  int first = 3;
  long uid = -1;
  int reap = 0;
  if (strncmp(argv[3], "--uid=", 6) == 0) {
    uid = strtol(argv[3] + 6, &end, 10);
    if (*end != '\0' || argv[3][6] == '\0' || uid < 1 || uid > 0x7ffffffe || argc < 5) {
      fprintf(stderr, "airlock-launcher: bad uid %s\n", argv[3] + 6);
      return 127;
    }
    first = 4;
    reap = argc == 5 && strcmp(argv[4], "--reap") == 0;
  }
  if (reap) {
    int result = become((uid_t)uid);
    if (result == ID_UNUSABLE) return unusable((uid_t)uid);
    return result == 0 ? 0 : fail("reaping");
  }
  if (setpgid(0, 0) != 0) return fail("process group");
  if (detach_terminal() != 0) return fail("detaching the terminal");
  if (uid > 0) {
    int result = become((uid_t)uid);
    if (result == ID_UNUSABLE) return unusable((uid_t)uid);
    if (result != 0) return fail("changing user");
  }
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) return fail("parent-death signal");
  if (getppid() != (pid_t)gateway) {
    fprintf(stderr, "airlock-launcher: the gateway (pid %ld) is gone\n", gateway);
    return 127;
  }
  errno = 0;
  int inherited = getpriority(PRIO_PROCESS, 0);
  if (errno == 0) setpriority(PRIO_PROCESS, 0, (int)at_most_19(inherited + increment));
  struct rlimit none = {0, 0};
  if (setrlimit(RLIMIT_CORE, &none) != 0) return fail("core-file limit");
  if (close_inherited() != 0) return fail("closing inherited descriptors");
  if (drop_privileges() != 0) return fail("dropping privileges");
  char *program = argv[first];
  argv[first] = "deno";
  execv(program, argv + first);
  return fail("exec");
}
