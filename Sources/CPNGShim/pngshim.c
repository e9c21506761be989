// libpng calls under setjmp, with errors copied out as text. See include/pngshim.h.
#include "pngshim.h"

#include <png.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

// Where bytes come from or go to: a FILE, a memory source, or a growable memory sink.
typedef struct {
    char *err;
    size_t errlen;
    FILE *file;
    const uint8_t *src;
    size_t src_len, src_pos;
    uint8_t *dst;
    size_t dst_len, dst_cap;
} io_ctx;

static void set_err(char *err, size_t errlen, const char *msg) {
    if (err != NULL && errlen > 0) snprintf(err, errlen, "%s", msg != NULL ? msg : "unknown error");
}

static void on_error(png_structp png, png_const_charp msg) {
    io_ctx *c = png_get_error_ptr(png);
    set_err(c->err, c->errlen, msg);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg) {
    (void)png;
    (void)msg;  // libpng warns about recoverable issues (e.g. a bad ancillary chunk); stay quiet.
}

static void write_data(png_structp png, png_bytep data, size_t n) {
    io_ctx *c = png_get_io_ptr(png);
    if (c->file != NULL) {
        if (fwrite(data, 1, n, c->file) != n) png_error(png, strerror(errno));
        return;
    }
    if (n > c->dst_cap - c->dst_len) {
        size_t cap = c->dst_cap > 0 ? c->dst_cap : 65536;
        while (cap - c->dst_len < n) {
            if (cap > SIZE_MAX / 2) png_error(png, "encoded PNG too large");
            cap *= 2;
        }
        uint8_t *p = realloc(c->dst, cap);
        if (p == NULL) png_error(png, "out of memory");
        c->dst = p;
        c->dst_cap = cap;
    }
    memcpy(c->dst + c->dst_len, data, n);
    c->dst_len += n;
}

static void flush_data(png_structp png) {
    io_ctx *c = png_get_io_ptr(png);
    if (c->file != NULL && fflush(c->file) != 0) png_error(png, strerror(errno));
}

static void read_data(png_structp png, png_bytep data, size_t n) {
    io_ctx *c = png_get_io_ptr(png);
    if (c->file != NULL) {
        if (fread(data, 1, n, c->file) != n)
            png_error(png, ferror(c->file) ? strerror(errno) : "unexpected end of file (truncated PNG)");
        return;
    }
    if (n > c->src_len - c->src_pos) png_error(png, "unexpected end of data (truncated PNG)");
    memcpy(data, c->src + c->src_pos, n);
    c->src_pos += n;
}

static int encode(io_ctx *c, uint32_t width, uint32_t height, int channels, const uint8_t *pixels,
                  size_t stride, int zlib_level, int filters) {
    int color;
    switch (channels) {
    case 1: color = PNG_COLOR_TYPE_GRAY; break;
    case 3: color = PNG_COLOR_TYPE_RGB; break;
    case 4: color = PNG_COLOR_TYPE_RGB_ALPHA; break;
    default: set_err(c->err, c->errlen, "unsupported channel count"); return PANELSIM_PNG_ERROR;
    }
    if (pixels == NULL || width > SIZE_MAX / (size_t)channels || stride < (size_t)width * (size_t)channels) {
        set_err(c->err, c->errlen, "pixel buffer smaller than a row");
        return PANELSIM_PNG_ERROR;
    }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, c, on_error, on_warning);
    if (png == NULL) {
        set_err(c->err, c->errlen, "out of memory");
        return PANELSIM_PNG_ERROR;
    }
    png_infop info = png_create_info_struct(png);
    if (info == NULL) {
        png_destroy_write_struct(&png, NULL);
        set_err(c->err, c->errlen, "out of memory");
        return PANELSIM_PNG_ERROR;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return PANELSIM_PNG_ERROR;
    }
    png_set_write_fn(png, c, write_data, flush_data);
    png_set_compression_level(png, zlib_level);
    png_set_filter(png, PNG_FILTER_TYPE_BASE, filters);
    png_set_IHDR(png, info, width, height, 8, color, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (uint32_t y = 0; y < height; y++) png_write_row(png, pixels + (size_t)y * stride);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return PANELSIM_PNG_OK;
}

int panelsim_png_write_file(const char *path, uint32_t width, uint32_t height, int channels,
                            const uint8_t *pixels, size_t stride, int zlib_level, int filters,
                            char *err, size_t errlen) {
    set_err(err, errlen, "");
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        set_err(err, errlen, strerror(errno));
        return PANELSIM_PNG_ERROR;
    }
    // Only a regular file is removed on failure (never e.g. /dev/stdout or a FIFO).
    struct stat st;
    int regular = fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode);
    io_ctx c = {.err = err, .errlen = errlen, .file = f};
    int rc = encode(&c, width, height, channels, pixels, stride, zlib_level, filters);
    if (fclose(f) != 0 && rc == PANELSIM_PNG_OK) {
        set_err(err, errlen, strerror(errno));
        rc = PANELSIM_PNG_ERROR;
    }
    if (rc != PANELSIM_PNG_OK && regular) unlink(path);
    return rc;
}

int panelsim_png_encode_memory(uint32_t width, uint32_t height, int channels,
                               const uint8_t *pixels, size_t stride, int zlib_level, int filters,
                               uint8_t **out, size_t *out_len, char *err, size_t errlen) {
    set_err(err, errlen, "");
    *out = NULL;
    *out_len = 0;
    io_ctx c = {.err = err, .errlen = errlen};
    int rc = encode(&c, width, height, channels, pixels, stride, zlib_level, filters);
    if (rc != PANELSIM_PNG_OK) {
        free(c.dst);
        return rc;
    }
    *out = c.dst;
    *out_len = c.dst_len;
    return PANELSIM_PNG_OK;
}

static int decode(io_ctx *c, uint32_t max_dim, uint8_t **out_pixels, uint32_t *w, uint32_t *h,
                  int *channels) {
    *out_pixels = NULL;
    *w = 0;
    *h = 0;
    *channels = 0;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, c, on_error, on_warning);
    if (png == NULL) {
        set_err(c->err, c->errlen, "out of memory");
        return PANELSIM_PNG_ERROR;
    }
    png_infop info = png_create_info_struct(png);
    if (info == NULL) {
        png_destroy_read_struct(&png, NULL, NULL);
        set_err(c->err, c->errlen, "out of memory");
        return PANELSIM_PNG_ERROR;
    }
    uint8_t *volatile pixels = NULL;
    png_bytep *volatile rows = NULL;
    if (setjmp(png_jmpbuf(png))) {
        free(pixels);
        free(rows);
        png_destroy_read_struct(&png, &info, NULL);
        return PANELSIM_PNG_ERROR;
    }
    png_set_read_fn(png, c, read_data);
    // Let any valid IHDR through so the size check below reports it with its own code.
    png_set_user_limits(png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
    png_read_info(png, info);

    png_uint_32 width = png_get_image_width(png, info);
    png_uint_32 height = png_get_image_height(png, info);
    if (width > max_dim || height > max_dim) {
        *w = width;
        *h = height;
        char msg[128];
        snprintf(msg, sizeof msg, "image is %lux%lu pixels, more than the limit of %lux%lu",
                 (unsigned long)width, (unsigned long)height, (unsigned long)max_dim, (unsigned long)max_dim);
        set_err(c->err, c->errlen, msg);
        png_destroy_read_struct(&png, &info, NULL);
        return PANELSIM_PNG_TOO_LARGE;
    }
    int color = png_get_color_type(png, info);
    int depth = png_get_bit_depth(png, info);
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (depth == 16) png_set_scale_16(png);
    if ((color & PNG_COLOR_MASK_ALPHA) || png_get_valid(png, info, PNG_INFO_tRNS)) png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);

    int ch = png_get_channels(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    if ((ch != 1 && ch != 3) || png_get_bit_depth(png, info) != 8 || rowbytes != (size_t)width * (size_t)ch)
        png_error(png, "unexpected pixel layout after conversion to 8-bit gray/RGB");
    if (height > 0 && rowbytes > SIZE_MAX / height) png_error(png, "image too large for memory");
    pixels = malloc(rowbytes * height);
    rows = malloc(sizeof(png_bytep) * height);
    if (pixels == NULL || rows == NULL) png_error(png, "out of memory");
    for (png_uint_32 y = 0; y < height; y++) rows[y] = pixels + (size_t)y * rowbytes;
    png_read_image(png, rows);
    png_read_end(png, NULL);

    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    *out_pixels = pixels;
    *w = width;
    *h = height;
    *channels = ch;
    return PANELSIM_PNG_OK;
}

int panelsim_png_read_file(const char *path, uint32_t max_dim, uint8_t **out_pixels,
                           uint32_t *w, uint32_t *h, int *channels, char *err, size_t errlen) {
    set_err(err, errlen, "");
    *out_pixels = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        set_err(err, errlen, strerror(errno));
        return PANELSIM_PNG_ERROR;
    }
    io_ctx c = {.err = err, .errlen = errlen, .file = f};
    int rc = decode(&c, max_dim, out_pixels, w, h, channels);
    fclose(f);
    return rc;
}

int panelsim_png_decode_memory(const uint8_t *data, size_t len, uint32_t max_dim,
                               uint8_t **out_pixels, uint32_t *w, uint32_t *h, int *channels,
                               char *err, size_t errlen) {
    set_err(err, errlen, "");
    io_ctx c = {.err = err, .errlen = errlen, .src = data, .src_len = data != NULL ? len : 0};
    return decode(&c, max_dim, out_pixels, w, h, channels);
}

void panelsim_png_free(void *p) { free(p); }
