/* pkg_proc.c - child processes with their output kept (see pkg_proc.h). */
#define _GNU_SOURCE
#include "package/pkg_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "package/pkg_util.h"

extern char **environ;

static void tail_of(const char *path, char *out, size_t cap)
{
    out[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    off_t end = lseek(fd, 0, SEEK_END);
    off_t from = end > (off_t)(cap - 1) ? end - (off_t)(cap - 1) : 0;
    ssize_t n = pread(fd, out, cap - 1, from);
    close(fd);
    out[n > 0 ? n : 0] = '\0';
}

static void join_argv(const char *const *argv, char *out, size_t cap)
{
    out[0] = '\0';
    for (size_t i = 0; argv[i]; i++) {
        size_t l = strlen(out);
        aae_pkg_sfmt(out + l, cap - l, "%s%s", i ? " " : "", argv[i]);
    }
}

aae_status aae_pkg_run(const char *const *argv, const char *log_path, int verbose, aae_error *err)
{
    int pipefd[2] = {-1, -1};
    int logfd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (logfd < 0)
        return aae_error_set(err, AAE_ERR_IO, "%s: cannot create log: %s", log_path, strerror(errno));
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (verbose && pipe(pipefd) == 0) {
        posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
        posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
        posix_spawn_file_actions_addclose(&fa, pipefd[0]);
    } else {
        posix_spawn_file_actions_adddup2(&fa, logfd, 1);
        posix_spawn_file_actions_adddup2(&fa, logfd, 2);
    }
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    char cmd[1024];
    join_argv(argv, cmd, sizeof cmd);
    if (rc != 0) {
        close(logfd);
        if (pipefd[0] >= 0) {
            close(pipefd[0]);
            close(pipefd[1]);
        }
        return aae_error_set(err, AAE_ERR_IO, "cannot run `%s`: %s; is %s installed and on PATH?", cmd,
                             strerror(rc), argv[0]);
    }
    if (pipefd[0] >= 0) { /* verbose: tee the child's output to the log and our stderr */
        close(pipefd[1]);
        char buf[4096];
        ssize_t n;
        while ((n = read(pipefd[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
            if (n <= 0)
                continue;
            if (write(logfd, buf, (size_t)n) < 0 || write(2, buf, (size_t)n) < 0)
                break;
        }
        close(pipefd[0]);
    }
    close(logfd);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return AAE_OK;
    char tail[1200];
    tail_of(log_path, tail, sizeof tail);
    return aae_error_set(err, AAE_ERR_IO, "`%.300s` failed (%s %d); its output (full log: %s):\n%s", cmd,
                         WIFEXITED(status) ? "exit code" : "signal",
                         WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), log_path, tail);
}

aae_status aae_pkg_capture(const char *const *argv, char *out, size_t cap, aae_error *err)
{
    int pipefd[2];
    if (pipe(pipefd) != 0)
        return aae_error_set(err, AAE_ERR_IO, "pipe: %s", strerror(errno));
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addclose(&fa, pipefd[0]);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(pipefd[1]);
    if (rc != 0) {
        close(pipefd[0]);
        return aae_error_set(err, AAE_ERR_IO, "cannot run %s: %s; is it installed and on PATH?", argv[0],
                             strerror(rc));
    }
    size_t len = 0;
    ssize_t n;
    while ((n = read(pipefd[0], out + len, cap - 1 - len)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        len += (size_t)n;
        if (len == cap - 1) {
            char sink[512];
            while (read(pipefd[0], sink, sizeof sink) > 0)
                ;
            break;
        }
    }
    out[len] = '\0';
    close(pipefd[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return aae_error_set(err, AAE_ERR_IO, "%s exited with an error", argv[0]);
    return AAE_OK;
}
