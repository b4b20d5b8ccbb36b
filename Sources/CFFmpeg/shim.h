#ifndef MOVIOLA_CFFMPEG_SHIM_H
#define MOVIOLA_CFFMPEG_SHIM_H
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libavutil/avutil.h>
#include <libavutil/opt.h>
#include <libavutil/imgutils.h>
#include <libavutil/dict.h>
#include <libavutil/error.h>
#include <libswscale/swscale.h>

/* AVERROR(e) and AVERROR_EOF are macros Swift cannot import. */
static inline int moviola_averror_eagain(void) { return AVERROR(EAGAIN); }
static inline int moviola_averror_eof(void) { return AVERROR_EOF; }
static inline const char *moviola_error_string(int code, char *buffer, size_t size) {
    av_strerror(code, buffer, size);
    return buffer;
}
#endif
