/*
 * pkg_ui.h - what `sphere_aae package` shows while it works.
 *
 * Progress bars (downloads, compiles, copies) go to stderr only when stderr is a
 * terminal and -q was not given; they redraw one line. Notes (what was done) are
 * shown with --verbose; warnings unless -q; nothing at all on success when stderr
 * is not a terminal. NO_COLOR (any value) turns colour off.
 */
#ifndef AAE_PKG_UI_H
#define AAE_PKG_UI_H

#include <stddef.h>
#include <stdint.h>

typedef struct aae_pkg_ui {
    int quiet, verbose, tty, color;
    int bar_shown;
    double started;
} aae_pkg_ui;

void aae_pkg_ui_init(aae_pkg_ui *ui, int quiet, int verbose);
/* A line shown with --verbose (or on a terminal when important is set). */
void aae_pkg_ui_note(aae_pkg_ui *ui, int important, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void aae_pkg_ui_warn(aae_pkg_ui *ui, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Draws "label [#####.....] done/total"; total 0 = unknown. */
void aae_pkg_ui_bar(aae_pkg_ui *ui, const char *label, int64_t done, int64_t total);
/* The same for a count of things (models compiled: "1/2"). */
void aae_pkg_ui_count(aae_pkg_ui *ui, const char *label, int64_t done, int64_t total);
void aae_pkg_ui_bar_end(aae_pkg_ui *ui);
/* "1.5 GB" style, into out. */
void aae_pkg_ui_bytes(int64_t n, char *out, size_t cap);

#endif
