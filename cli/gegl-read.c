/* gimp-diffusion CLI: the formats left to GEGL's loaders, each file
 * decoded in a child process.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * GEGL's loaders trust their input. On damaged files we have seen them
 * loop forever (png-load), end the process (jpg-load through libjpeg's
 * exit(); tiff-load through babl, which exits when a damaged ICC profile
 * asks for a huge table), and report problems only by printing them while
 * still handing back a partly blank buffer. So each file is decoded in a
 * forked child with its stderr captured; the child sends back the pixels,
 * or the first failure the loader printed, through a pipe. A child that
 * exits, crashes or runs past DECODE_SECONDS fails that file alone.
 *
 * The pipe carries a Reply, then `text_length` bytes of text (the pixel
 * format's encoding, or the error), then for an image width * height * 4
 * floats (R'G'B'A, sRGB), unless only the size was asked for. The size is
 * checked against the budget in the child, from the loader's bounding box
 * (its reading of the header), before any pixel is decoded, and again in
 * the parent. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gegl.h>
#include <glib/gi18n-lib.h>

#include "image-io.h"

#define DECODE_SECONDS 300

typedef struct {
  int32_t width, height; /* 0 x 0: the text is an error message */
  uint32_t text_length;
} Reply;

/* stderr redirected to an anonymous file while decoders run. */
typedef struct {
  int saved;  /* the real stderr, or -1 when not capturing */
  FILE *sink; /* what was written meanwhile */
} StderrCapture;

static void capture_begin(StderrCapture *capture) {
  fflush(stderr);
  capture->sink = tmpfile();
  capture->saved = capture->sink ? dup(STDERR_FILENO) : -1;
  if (capture->saved >= 0 &&
      dup2(fileno(capture->sink), STDERR_FILENO) < 0) {
    close(capture->saved);
    capture->saved = -1;
  }
}

/* `line` after GLib's "... hh:mm:ss.mmm: " log prefix, if it has one. */
static const char *without_log_prefix(const char *line) {
  static const char shape[] = "00:00:00.000: "; /* 0: a digit */
  for (const char *at = line; *at; at++) {
    size_t k = 0;
    while (shape[k] && (shape[k] == '0' ? g_ascii_isdigit(at[k])
                                        : at[k] == shape[k]))
      k++;
    if (shape[k] == '\0') return at + k;
  }
  return line;
}

/* The first line of `output` that reports a failure (libpng and libtiff
 * errors, GLib warnings), or NULL; benign notes ("libpng warning: iCCP:
 * known incorrect sRGB profile") pass. */
static char *first_failure(const char *output) {
  static const char *const signs[] = {"error", "corrupt", "truncat",
                                      "premature", "failed", "warning **",
                                      "critical **"};
  char **lines = g_strsplit(output, "\n", -1);
  char *failure = NULL;
  for (int i = 0; lines[i] && failure == NULL; i++) {
    char *lower = g_ascii_strdown(lines[i], -1);
    for (size_t k = 0; k < G_N_ELEMENTS(signs) && failure == NULL; k++)
      if (strstr(lower, signs[k]))
        failure = g_strdup(without_log_prefix(lines[i]));
    g_free(lower);
  }
  g_strfreev(lines);
  return failure;
}

/* Restores stderr; returns the first failure reported meanwhile, or NULL
 * (caller g_free()s). */
static char *capture_end(StderrCapture *capture) {
  char output[4096] = "";
  if (capture->saved >= 0) {
    fflush(stderr);
    dup2(capture->saved, STDERR_FILENO);
    close(capture->saved);
    rewind(capture->sink);
    output[fread(output, 1, sizeof output - 1, capture->sink)] = '\0';
  }
  if (capture->sink) fclose(capture->sink);
  return first_failure(output);
}

static DmCliImage *image_from_buffer(GeglBuffer *buffer, GError **error) {
  const GeglRectangle *extent = gegl_buffer_get_extent(buffer);
  DmCliImage *image = dm_cli_image_new(extent->width, extent->height,
                                       gegl_buffer_get_format(buffer), error);
  if (image)
    gegl_buffer_get(buffer, extent, 1.0, babl_format("R'G'B'A float"),
                    image->rgba, GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);
  return image;
}

/* Decodes `path` with the GEGL loader `operation` in this process. What
 * the loader prints decides whether it failed; the size is checked from
 * the header before any pixel is decoded. */
static DmCliImage *decode_here(const char *name, const char *operation,
                               const char *path,
                               const DmCliReadOptions *options,
                               GError **error) {
  GeglNode *graph = gegl_node_new();
  GeglNode *load = gegl_node_new_child(graph, "operation", operation, "path",
                                       path, NULL);
  GeglBuffer *buffer = NULL;
  StderrCapture capture;
  capture_begin(&capture);
  const GeglRectangle box = gegl_node_get_bounding_box(load);
  const bool sized = dm_cli_image_size_ok(box.width, box.height,
                                          options->max_pixels, NULL);
  if (sized && !options->size_only) {
    GeglNode *sink = gegl_node_new_child(graph, "operation",
                                         "gegl:buffer-sink", "buffer",
                                         &buffer, NULL);
    gegl_node_link(load, sink);
    gegl_node_process(sink);
  }
  char *failure = capture_end(&capture);
  g_object_unref(graph);
  DmCliImage *image = NULL;
  if (failure || box.width <= 0 || box.height <= 0 ||
      (sized && !options->size_only && buffer == NULL))
    g_set_error(error, DM_ERROR, DM_ERROR_FORMAT, _("corrupt or truncated %s "
                "image: %s"), name, failure ? failure : _("no pixels"));
  else if (!sized || options->size_only) /* refused, or the size only */
    image = dm_cli_image_from_header(box.width, box.height,
                                     babl_format("R'G'B'A float"), options,
                                     error);
  else
    image = image_from_buffer(buffer, error);
  g_free(failure);
  if (buffer) g_object_unref(buffer);
  return image;
}

/* ---- the child ----------------------------------------------------------- */

/* Decodes, sends the Reply down `fd` and ends the child (no atexit
 * handlers: they belong to the parent). */
static G_GNUC_NORETURN void run_child(int fd, const char *name,
                                      const char *operation, const char *path,
                                      const DmCliReadOptions *options) {
  GError *error = NULL;
  DmCliImage *image = decode_here(name, operation, path, options, &error);
  const char *text =
      image ? babl_format_get_encoding(image->format) : error->message;
  const Reply reply = {image ? image->width : 0, image ? image->height : 0,
                       (uint32_t)strlen(text)};
  DmCliSink pipe = {.fd = fd};
  const bool sent =
      dm_cli_sink_write(&pipe, &reply, sizeof reply) &&
      dm_cli_sink_write(&pipe, text, reply.text_length) &&
      (image == NULL || image->rgba == NULL ||
       dm_cli_sink_write(&pipe, image->rgba, sizeof(float) * 4 *
                                                 (size_t)image->width *
                                                 image->height));
  _exit(sent ? 0 : 1);
}

/* ---- the parent ---------------------------------------------------------- */

/* Reads `size` bytes from `fd` before `deadline` (monotonic microseconds);
 * false at the end of the data, on an error, or (*late set) on time out. */
static bool read_all(int fd, void *data, size_t size, gint64 deadline,
                     bool *late) {
  guint8 *at = data;
  while (size > 0) {
    const gint64 left_ms = (deadline - g_get_monotonic_time()) / 1000;
    struct pollfd ready = {.fd = fd, .events = POLLIN};
    const int polled = left_ms > 0 ? poll(&ready, 1, (int)MIN(left_ms, INT_MAX)) : 0;
    if (polled < 0 && errno == EINTR) continue;
    if (polled == 0) *late = true;
    if (polled <= 0) return false;
    const ssize_t got = read(fd, at, MIN(size, (size_t)1 << 20));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    at += got;
    size -= (size_t)got;
  }
  return true;
}

/* The format named `encoding` if babl knows it (babl_format() would end
 * the process on an unknown name), else R'G'B'A float. */
static const Babl *format_from_encoding(const char *encoding) {
  return babl_format_exists(encoding) ? babl_format(encoding)
                                      : babl_format("R'G'B'A float");
}

/* The image the child sends, or NULL with *error set when it sent an
 * error; NULL without one when it sent nothing whole. */
static DmCliImage *receive(int fd, const DmCliReadOptions *options,
                           gint64 deadline, bool *late, GError **error) {
  Reply reply;
  if (!read_all(fd, &reply, sizeof reply, deadline, late) ||
      reply.text_length > 4096)
    return NULL;
  char text[4097];
  if (!read_all(fd, text, reply.text_length, deadline, late)) return NULL;
  text[reply.text_length] = '\0';
  if (reply.width == 0 && reply.height == 0) {
    g_set_error(error, DM_ERROR, DM_ERROR_FORMAT, "%s", text);
    return NULL;
  }
  GError *problem = NULL;
  DmCliImage *image = dm_cli_image_from_header(
      reply.width, reply.height, format_from_encoding(text), options,
      &problem);
  if (image == NULL) {
    g_propagate_error(error, problem);
    return NULL;
  }
  if (image->rgba == NULL) return image; /* the size only */
  const size_t bytes = sizeof(float) * 4 * (size_t)reply.width * reply.height;
  if (read_all(fd, image->rgba, bytes, deadline, late)) return image;
  dm_cli_image_free(image);
  return NULL;
}

/* Waits for the child (killing it first when late) and, when it sent
 * nothing usable and no error, says how it ended. */
static void end_child(pid_t pid, bool late, const char *name, GError **error) {
  if (late) kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (error == NULL || *error != NULL) return;
  if (late)
    g_set_error(error, DM_ERROR, DM_ERROR_FORMAT, _("the GEGL %s loader did "
                "not finish in %d s"), name, DECODE_SECONDS);
  else if (WIFSIGNALED(status))
    g_set_error(error, DM_ERROR, DM_ERROR_FORMAT, _("the GEGL %s loader "
                "crashed (%s)"), name, g_strsignal(WTERMSIG(status)));
  else
    g_set_error(error, DM_ERROR, DM_ERROR_FORMAT, _("the GEGL %s loader "
                "ended its process (exit status %d)"), name,
                WEXITSTATUS(status));
}

DmCliImage *dm_cli_gegl_read(const char *name, const char *operation,
                             const char *path,
                             const DmCliReadOptions *options, GError **error) {
  if (!gegl_has_operation(operation)) {
    g_set_error(error, DM_ERROR, DM_ERROR_UNSUPPORTED,
                _("this GEGL has no %s loader (%s)"), name, operation);
    return NULL;
  }
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) {
    g_set_error(error, DM_ERROR, DM_ERROR_IO, _("cannot make a pipe: %s"),
                g_strerror(errno));
    return NULL;
  }
  fflush(stdout);
  fflush(stderr);
  const pid_t pid = fork();
  if (pid == 0) {
    close(pipe_fds[0]);
    run_child(pipe_fds[1], name, operation, path, options);
  }
  close(pipe_fds[1]);
  if (pid < 0) {
    close(pipe_fds[0]);
    g_set_error(error, DM_ERROR, DM_ERROR_IO, _("cannot start a decoder "
                "process: %s"), g_strerror(errno));
    return NULL;
  }
  const gint64 deadline = g_get_monotonic_time() + DECODE_SECONDS * G_USEC_PER_SEC;
  bool late = false;
  GError *problem = NULL;
  DmCliImage *image =
      receive(pipe_fds[0], options, deadline, &late, &problem);
  close(pipe_fds[0]);
  end_child(pid, late, name, &problem);
  if (image == NULL) g_propagate_error(error, problem);
  return image;
}
