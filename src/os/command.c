/*
 * os/command.c: kr_command, its setters, and kr_command_spawn
 * (posix_spawn with the stdio, environment and directory it describes).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "os/process.h"
#include "util/alloc.h"
#include "util/atomic.h"

extern char **environ;

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = kr__malloc(n);
    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

/* Grows *arr (of *cap elements of `size`) to hold `need`. */
static bool grow(void **arr, size_t *cap, size_t need, size_t size) {
    if (need <= *cap)
        return true;
    size_t n = *cap != 0 ? *cap * 2 : 8;
    while (n < need)
        n *= 2;
    void *p = kr__os_realloc(*arr, n * size);
    if (p == NULL)
        return false;
    *arr = p;
    *cap = n;
    return true;
}

kr_command *kr_command_new(const char *program) {
    if (program == NULL)
        return NULL;
    kr_command *c = kr__malloc(sizeof(*c));
    if (c == NULL)
        return NULL;
    memset(c, 0, sizeof(*c));
    kr_command_arg(c, program);
    if (c->err != 0) {
        kr_command_free(c);
        return NULL;
    }
    return c;
}

void kr_command_free(kr_command *c) {
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->argc; i++)
        kr__free(c->argv[i]);
    kr__free(c->argv);
    for (size_t i = 0; i < c->nenv; i++) {
        kr__free(c->env[i].key);
        kr__free(c->env[i].value);
    }
    kr__free(c->env);
    kr__free(c->cwd);
    kr__free(c);
}

void kr_command_arg(kr_command *c, const char *arg) {
    if (c == NULL || c->err != 0)
        return;
    char *a = arg != NULL ? dup_str(arg) : NULL;
    if (a == NULL ||
        !grow((void **)&c->argv, &c->argv_cap, c->argc + 2, sizeof(char *))) {
        kr__free(a);
        c->err = arg != NULL ? KR_ENOMEM : KR_EINVAL;
        return;
    }
    c->argv[c->argc++] = a;
    c->argv[c->argc] = NULL;
}

static void env_op(kr_command *c, const char *key, const char *value) {
    if (c == NULL || c->err != 0)
        return;
    if (key == NULL || key[0] == '\0' || strchr(key, '=') != NULL) {
        c->err = KR_EINVAL;
        return;
    }
    char *k = dup_str(key);
    char *v = value != NULL ? dup_str(value) : NULL;
    if (k == NULL || (value != NULL && v == NULL) ||
        !grow((void **)&c->env, &c->env_cap, c->nenv + 1, sizeof(*c->env))) {
        kr__free(k);
        kr__free(v);
        c->err = KR_ENOMEM;
        return;
    }
    c->env[c->nenv].key = k;
    c->env[c->nenv].value = v;
    c->nenv++;
}

void kr_command_env(kr_command *c, const char *key, const char *value) {
    if (value == NULL) {
        if (c != NULL && c->err == 0)
            c->err = KR_EINVAL;
        return;
    }
    env_op(c, key, value);
}

void kr_command_env_remove(kr_command *c, const char *key) {
    env_op(c, key, NULL);
}

void kr_command_env_clear(kr_command *c) {
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->nenv; i++) {
        kr__free(c->env[i].key);
        kr__free(c->env[i].value);
    }
    c->nenv = 0;
    c->env_clear = true;
}

void kr_command_cwd(kr_command *c, const char *dir) {
    if (c == NULL || c->err != 0)
        return;
    char *d = dir != NULL ? dup_str(dir) : NULL;
    if (dir != NULL && d == NULL) {
        c->err = KR_ENOMEM;
        return;
    }
    kr__free(c->cwd);
    c->cwd = d;
}

static void set_stdio(kr_command *c, int which, kr_stdio how) {
    if (c == NULL)
        return;
    if (how != KR_STDIO_INHERIT && how != KR_STDIO_NULL &&
        how != KR_STDIO_PIPE) {
        if (c->err == 0)
            c->err = KR_EINVAL;
        return;
    }
    c->stdio[which] = how;
    c->stdio_set[which] = true;
}

void kr_command_stdin(kr_command *c, kr_stdio how) { set_stdio(c, 0, how); }
void kr_command_stdout(kr_command *c, kr_stdio how) { set_stdio(c, 1, how); }
void kr_command_stderr(kr_command *c, kr_stdio how) { set_stdio(c, 2, how); }

void kr_command_kill_on_drop(kr_command *c, bool on) {
    if (c != NULL)
        c->kill_on_drop = on;
}

/* ---- spawn ------------------------------------------------------------- */

/* True if `entry` ("KEY=value") is for `key`. */
static bool env_is(const char *entry, const char *key) {
    size_t n = strlen(key);
    return strncmp(entry, key, n) == 0 && entry[n] == '=';
}

/*
 * The child's environment: the parent's (unless cleared) with the changes
 * applied in order. *owned lists the strings made here (freed by
 * env_free). NULL on ENOMEM; sets *same when the parent's is used as is.
 */
static char **env_build(const kr_command *c, char ***owned, size_t *nowned) {
    size_t base = 0;
    if (!c->env_clear)
        while (environ[base] != NULL)
            base++;
    char **e = kr__malloc((base + c->nenv + 1) * sizeof(char *));
    char **own = kr__malloc((c->nenv + 1) * sizeof(char *));
    if (e == NULL || own == NULL) {
        kr__free(e);
        kr__free(own);
        return NULL;
    }
    size_t n = 0, no = 0;
    for (size_t i = 0; i < base; i++)
        e[n++] = environ[i];
    for (size_t i = 0; i < c->nenv; i++) {
        const kr__env_op *op = &c->env[i];
        size_t w = 0;
        for (size_t r = 0; r < n; r++)
            if (!env_is(e[r], op->key))
                e[w++] = e[r];
        n = w;
        if (op->value == NULL)
            continue;
        size_t kl = strlen(op->key), vl = strlen(op->value);
        char *s = kr__malloc(kl + vl + 2);
        if (s == NULL) {
            for (size_t j = 0; j < no; j++)
                kr__free(own[j]);
            kr__free(own);
            kr__free(e);
            return NULL;
        }
        memcpy(s, op->key, kl);
        s[kl] = '=';
        memcpy(s + kl + 1, op->value, vl + 1);
        own[no++] = s;
        e[n++] = s;
    }
    e[n] = NULL;
    *owned = own;
    *nowned = no;
    return e;
}

static int pidfd_open(pid_t pid) {
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    (void)pid;
    errno = ENOSYS;
    return -1;
#endif
}

/* 1: pidfds work here; 0: not; -1: not probed yet. */
static _Atomic int have_pidfd = -1;

static bool pidfd_supported(void) {
    int h = kr__load_relaxed(&have_pidfd);
    if (h < 0) {
        int fd = pidfd_open(getpid());
        h = fd >= 0;
        if (fd >= 0)
            close(fd);
        kr__store_relaxed(&have_pidfd, h);
    }
    return h == 1;
}

static void close_fds(int fds[3][2]) {
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 2; j++)
            if (fds[i][j] >= 0)
                close(fds[i][j]);
}

int kr_command_spawn(kr_command *c, kr_child **out) {
    if (c == NULL || out == NULL)
        return KR_EINVAL;
    if (c->err != 0)
        return c->err;
    kr__orphans_reap();
    kr_child *ch = kr__malloc(sizeof(*ch));
    if (ch == NULL)
        return KR_ENOMEM;
    memset(ch, 0, sizeof(*ch));
    ch->pidfd = -1;
    ch->kill_on_drop = c->kill_on_drop;
    bool use_pidfd = pidfd_supported();
    int rc = 0;
    /* Without pidfds, listen for SIGCHLD before the child can exit. */
    if (!use_pidfd)
        rc = kr_signal_listen(SIGCHLD, &ch->sigchld);
    /* Pipes: [i][0] the read end, [i][1] the write end. */
    int fds[3][2] = {{-1, -1}, {-1, -1}, {-1, -1}};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    for (int i = 0; i < 3 && rc == 0; i++) {
        if (c->stdio[i] == KR_STDIO_PIPE) {
            if (pipe2(fds[i], O_CLOEXEC) != 0) {
                rc = -errno;
                break;
            }
            int child_end = i == 0 ? fds[i][0] : fds[i][1];
            rc = -posix_spawn_file_actions_adddup2(&fa, child_end, i);
        } else if (c->stdio[i] == KR_STDIO_NULL) {
            rc = -posix_spawn_file_actions_addopen(
                &fa, i, "/dev/null", i == 0 ? O_RDONLY : O_WRONLY, 0);
        }
    }
    if (rc == 0 && c->cwd != NULL)
        rc = -posix_spawn_file_actions_addchdir_np(&fa, c->cwd);
    sigset_t none, def;
    sigemptyset(&none);
    sigemptyset(&def);
    sigaddset(&def, SIGPIPE);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &def);
    posix_spawnattr_setflags(&attr,
                             POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    char **owned = NULL;
    size_t nowned = 0;
    char **envp = NULL;
    if (rc == 0) {
        envp = env_build(c, &owned, &nowned);
        if (envp == NULL)
            rc = KR_ENOMEM;
    }
    pid_t pid = -1;
    if (rc == 0)
        rc = -posix_spawnp(&pid, c->argv[0], &fa, &attr, c->argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    for (size_t i = 0; i < nowned; i++)
        kr__free(owned[i]);
    kr__free(owned);
    kr__free(envp);
    if (rc == 0 && use_pidfd) {
        ch->pidfd = pidfd_open(pid);
        if (ch->pidfd < 0) {
            rc = -errno;
            kill(pid, SIGKILL);
            kr__orphans_add(pid);
            kr__orphans_reap();
        }
    }
    if (rc != 0) {
        close_fds(fds);
        kr_signal_listener_free(ch->sigchld);
        kr__free(ch);
        return rc;
    }
    ch->pid = pid;
    for (int i = 0; i < 3; i++) {
        if (fds[i][0] < 0)
            continue;
        /* Close the child's end; keep ours. */
        int ours = i == 0 ? fds[i][1] : fds[i][0];
        close(i == 0 ? fds[i][0] : fds[i][1]);
        ch->stdio[i] = kr__pipe_new(ours);
        if (ch->stdio[i] == NULL) {
            for (int j = i + 1; j < 3; j++)
                if (fds[j][0] >= 0) {
                    close(fds[j][0]);
                    close(fds[j][1]);
                }
            ch->kill_on_drop = true;
            kr_child_free(ch);
            return KR_ENOMEM;
        }
    }
    *out = ch;
    return 0;
}
