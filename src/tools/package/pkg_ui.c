/* pkg_ui.c - progress bars, notes and warnings on stderr (see pkg_ui.h). */
#include "package/pkg_ui.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "package/pkg_util.h"

void aae_pkg_ui_init(aae_pkg_ui *ui, int quiet, int verbose)
{
    memset(ui, 0, sizeof *ui);
    ui->quiet = quiet;
    ui->verbose = verbose && !quiet;
    ui->tty = isatty(2) && !quiet;
    const char *term = getenv("TERM");
    ui->color = ui->tty && getenv("NO_COLOR") == NULL && !(term && strcmp(term, "dumb") == 0);
    ui->started = aae_pkg_now();
}

void aae_pkg_ui_bytes(int64_t n, char *out, size_t cap)
{
    static const char *const units[] = {"B", "kB", "MB", "GB", "TB"};
    double v = (double)n;
    int u = 0;
    while (v >= 1000 && u < 4) {
        v /= 1000;
        u++;
    }
    aae_pkg_sfmt(out, cap, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

static void clear_bar(aae_pkg_ui *ui)
{
    if (ui->bar_shown) {
        fputs("\r\033[K", stderr);
        ui->bar_shown = 0;
    }
}

void aae_pkg_ui_note(aae_pkg_ui *ui, int important, const char *fmt, ...)
{
    if (!(ui->verbose || (important && ui->tty)))
        return;
    clear_bar(ui);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void aae_pkg_ui_warn(aae_pkg_ui *ui, const char *fmt, ...)
{
    if (ui->quiet)
        return;
    clear_bar(ui);
    fputs(ui->color ? "\033[33mwarning:\033[0m " : "warning: ", stderr);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void draw(aae_pkg_ui *ui, const char *label, int64_t done, int64_t total, const char *d, const char *t)
{
    int width = 30, fill = total > 0 ? (int)((double)done / (double)total * width) : 0;
    if (fill > width)
        fill = width;
    char bar[64];
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[width] = '\0';
    fprintf(stderr, "\r\033[K%s%-28.28s%s [%s] %s / %s", ui->color ? "\033[36m" : "", label,
            ui->color ? "\033[0m" : "", bar, d, total > 0 ? t : "?");
    fflush(stderr);
    ui->bar_shown = 1;
}

void aae_pkg_ui_bar(aae_pkg_ui *ui, const char *label, int64_t done, int64_t total)
{
    if (!ui->tty)
        return;
    char d[32], t[32];
    aae_pkg_ui_bytes(done, d, sizeof d);
    aae_pkg_ui_bytes(total, t, sizeof t);
    draw(ui, label, done, total, d, t);
}

void aae_pkg_ui_count(aae_pkg_ui *ui, const char *label, int64_t done, int64_t total)
{
    if (!ui->tty)
        return;
    char d[32], t[32];
    aae_pkg_sfmt(d, sizeof d, "%lld", (long long)done);
    aae_pkg_sfmt(t, sizeof t, "%lld", (long long)total);
    draw(ui, label, done, total, d, t);
}

void aae_pkg_ui_bar_end(aae_pkg_ui *ui) { clear_bar(ui); }
