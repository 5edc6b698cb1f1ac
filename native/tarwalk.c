/*
 * cairn's layer tar writer in C: the walk of src/layer/walk.ts and the tar layout of
 * src/layer/tar-header.ts and tar-blocks.ts, byte for byte, for the packing thread
 * (src/layer/native-tar.ts loads it; without it the TypeScript writer does the same job).
 *
 * Why: a mode=max cache export packs every layer a build makes, on a worker thread whose
 * per-entry JavaScript (path strings, header objects, generators) and V8's compiling of it cost
 * more CPU than the system calls they wrap. Here an entry is a few system calls and a memcpy.
 *
 *   open(root, overlay, mtime) -> handle      the walk of `root` (mtime: a whole number of seconds)
 *   fill(handle, buffer, offset) -> offset    writes the next tar bytes into buffer[offset..]; the
 *                                             archive is complete when it returns less than the length
 *   close(handle)                             releases what an unfinished walk holds
 *
 * Errors are thrown as Error objects with `code` (an errno name such as ENOENT, with `syscall`
 * and `path`, or ERR_LAYER_SIZE_CHANGED / ERR_LAYER_OVERLAY_FEATURE), for native-tar.ts to map.
 */
#define _GNU_SOURCE
#include <node_api.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <unistd.h>

#define BLOCK 512

/* ------------------------------------------------------------------ growable bytes */

typedef struct {
  char *p;
  size_t len, cap;
} bytes;

static int bytes_reserve(bytes *b, size_t more) {
  if (b->len + more <= b->cap) return 0;
  size_t cap = b->cap ? b->cap : 1024;
  while (cap < b->len + more) cap *= 2;
  char *p = realloc(b->p, cap);
  if (!p) return -1;
  b->p = p;
  b->cap = cap;
  return 0;
}

static int bytes_put(bytes *b, const void *src, size_t n) {
  if (bytes_reserve(b, n)) return -1;
  memcpy(b->p + b->len, src, n);
  b->len += n;
  return 0;
}

static int bytes_zeros(bytes *b, size_t n) {
  if (bytes_reserve(b, n)) return -1;
  memset(b->p + b->len, 0, n);
  b->len += n;
  return 0;
}

/* ------------------------------------------------------------------ the walker */

typedef struct {
  char *rel; /* "" for the root */
  char **names;
  size_t count, next;
} level;

typedef struct {
  dev_t dev;
  ino_t ino;
  char *rel; /* NULL: empty slot */
} link_slot;

typedef struct {
  char *name; /* without the NUL */
  size_t name_len;
  char *value;
  size_t value_len;
} xattr_kv;

typedef struct {
  xattr_kv *kept;
  size_t nkept;
  char **overlay; /* overlay-internal names (overlay mode) */
  size_t noverlay;
} xattrs;

typedef struct {
  char *root;
  int overlay;
  double mtime;
  level *stack;
  size_t depth, stack_cap;
  link_slot *links;
  size_t nlinks, links_cap;
  bytes pending; /* headers (and PAX data) waiting to be copied out */
  size_t pending_off;
  int fd; /* the body being read, or -1 */
  uint64_t body_left, body_size, body_done;
  char *body_name;
  uint64_t pad_left;
  int walk_done;
  uint64_t end_left;
  /* the error to throw */
  char err_code[48];
  char *err_msg;
  char *err_syscall;
  char *err_path;
} walker;

static void set_error(walker *w, const char *code, const char *msg) {
  snprintf(w->err_code, sizeof w->err_code, "%s", code);
  free(w->err_msg);
  w->err_msg = strdup(msg);
}

static const char *errno_name(int e) {
  switch (e) {
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case ENOTDIR: return "ENOTDIR";
    case ELOOP: return "ELOOP";
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    case ENOMEM: return "ENOMEM";
    case EIO: return "EIO";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case EINVAL: return "EINVAL";
    case EISDIR: return "EISDIR";
    case ENODATA: return "ENODATA";
    case ERANGE: return "ERANGE";
    case ENOTSUP: return "ENOTSUP";
    default: return "EIO";
  }
}

/* An errno error as node's fs words it: `ENOENT: no such file or directory, lstat '/x'`. */
static void set_errno(walker *w, int e, const char *syscall, const char *path) {
  char desc[128];
  snprintf(desc, sizeof desc, "%s", strerror(e));
  if (desc[0] >= 'A' && desc[0] <= 'Z') desc[0] = (char)(desc[0] - 'A' + 'a');
  size_t n = strlen(desc) + strlen(syscall) + strlen(path) + 64;
  char *msg = malloc(n);
  if (msg) snprintf(msg, n, "%s: %s, %s '%s'", errno_name(e), desc, syscall, path);
  snprintf(w->err_code, sizeof w->err_code, "%s", errno_name(e));
  free(w->err_msg);
  w->err_msg = msg;
  free(w->err_syscall);
  w->err_syscall = strdup(syscall);
  free(w->err_path);
  w->err_path = strdup(path);
}

/* JSON.stringify of a name, for messages. */
static char *quoted(const char *s) {
  size_t n = strlen(s);
  char *out = malloc(n * 6 + 3);
  if (!out) return NULL;
  char *o = out;
  *o++ = '"';
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') {
      *o++ = '\\';
      *o++ = (char)*p;
    } else if (*p == '\n') {
      *o++ = '\\';
      *o++ = 'n';
    } else if (*p == '\t') {
      *o++ = '\\';
      *o++ = 't';
    } else if (*p == '\r') {
      *o++ = '\\';
      *o++ = 'r';
    } else if (*p < 0x20) {
      o += sprintf(o, "\\u%04x", *p);
    } else {
      *o++ = (char)*p;
    }
  }
  *o++ = '"';
  *o = 0;
  return out;
}

static char *join3(const char *a, const char *sep, const char *b) {
  size_t la = strlen(a), ls = strlen(sep), lb = strlen(b);
  char *s = malloc(la + ls + lb + 1);
  if (!s) return NULL;
  memcpy(s, a, la);
  memcpy(s + la, sep, ls);
  memcpy(s + la + ls, b, lb + 1);
  return s;
}

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void free_level(level *l) {
  for (size_t i = 0; i < l->count; i++) free(l->names[i]);
  free(l->names);
  free(l->rel);
}

/* Pushes the directory `rel` with its names sorted by their bytes. */
static int push_dir(walker *w, const char *rel) {
  char *abs = rel[0] ? join3(w->root, "/", rel) : strdup(w->root);
  if (!abs) return set_error(w, "ENOMEM", "out of memory"), -1;
  DIR *d = opendir(abs);
  if (!d) {
    set_errno(w, errno, "scandir", abs);
    free(abs);
    return -1;
  }
  level l = {0};
  size_t cap = 0;
  struct dirent *e;
  errno = 0;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.' && (e->d_name[1] == 0 || (e->d_name[1] == '.' && e->d_name[2] == 0))) continue;
    if (l.count == cap) {
      cap = cap ? cap * 2 : 16;
      char **n = realloc(l.names, cap * sizeof *n);
      if (!n) goto oom;
      l.names = n;
    }
    if (!(l.names[l.count] = strdup(e->d_name))) goto oom;
    l.count++;
  }
  closedir(d);
  d = NULL;
  if (l.count > 1) qsort(l.names, l.count, sizeof *l.names, cmp_names);
  if (!(l.rel = strdup(rel))) goto oom;
  if (w->depth == w->stack_cap) {
    size_t c = w->stack_cap ? w->stack_cap * 2 : 16;
    level *s = realloc(w->stack, c * sizeof *s);
    if (!s) goto oom;
    w->stack = s;
    w->stack_cap = c;
  }
  w->stack[w->depth++] = l;
  free(abs);
  return 0;
oom:
  if (d) closedir(d);
  free_level(&l);
  free(abs);
  set_error(w, "ENOMEM", "out of memory");
  return -1;
}

/* ------------------------------------------------------------------ xattrs */

static void free_xattrs(xattrs *x) {
  for (size_t i = 0; i < x->nkept; i++) {
    free(x->kept[i].name);
    free(x->kept[i].value);
  }
  free(x->kept);
  for (size_t i = 0; i < x->noverlay; i++) free(x->overlay[i]);
  free(x->overlay);
  memset(x, 0, sizeof *x);
}

static int is_overlay_xattr(const char *n) { return strncmp(n, "trusted.overlay.", 16) == 0 || strncmp(n, "user.overlay.", 13) == 0; }

static int ends_with(const char *s, const char *suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

/* lgetxattr into a fresh buffer; 1: got it, 0: no such attribute, -1: error (set). */
static int get_xattr(walker *w, const char *path, const char *name, char **out, size_t *out_len) {
  for (;;) {
    ssize_t n = lgetxattr(path, name, NULL, 0);
    if (n < 0) {
      if (errno == ENODATA) return 0;
      set_errno(w, errno, "getxattr", path);
      return -1;
    }
    char *v = malloc(n > 0 ? (size_t)n : 1);
    if (!v) return set_error(w, "ENOMEM", "out of memory"), -1;
    ssize_t m = lgetxattr(path, name, v, (size_t)n);
    if (m < 0) {
      free(v);
      if (errno == ERANGE) continue; /* grew meanwhile */
      if (errno == ENODATA) return 0;
      set_errno(w, errno, "getxattr", path);
      return -1;
    }
    *out = v;
    *out_len = (size_t)m;
    return 1;
  }
}

/* walk.ts readXattrs: names sorted; overlay-internal ones listed apart (overlay mode) or dropped. */
static int read_xattrs(walker *w, const char *path, xattrs *x) {
  memset(x, 0, sizeof *x);
  char *list = NULL;
  ssize_t n;
  for (;;) {
    n = llistxattr(path, NULL, 0);
    if (n < 0) {
      if (errno == ENOTSUP) return 0;
      set_errno(w, errno, "listxattr", path);
      return -1;
    }
    if (n == 0) return 0;
    free(list);
    list = malloc((size_t)n);
    if (!list) return set_error(w, "ENOMEM", "out of memory"), -1;
    ssize_t m = llistxattr(path, list, (size_t)n);
    if (m < 0) {
      if (errno == ERANGE) continue;
      free(list);
      set_errno(w, errno, "listxattr", path);
      return -1;
    }
    n = m;
    break;
  }
  size_t count = 0;
  for (ssize_t i = 0; i < n; i++)
    if (list[i] == 0) count++;
  char **names = calloc(count ? count : 1, sizeof *names);
  if (!names) {
    free(list);
    return set_error(w, "ENOMEM", "out of memory"), -1;
  }
  size_t k = 0;
  for (ssize_t i = 0; i < n && k < count;) {
    names[k++] = list + i;
    i += (ssize_t)strlen(list + i) + 1;
  }
  if (k > 1) qsort(names, k, sizeof *names, cmp_names);
  int rc = 0;
  x->kept = calloc(k ? k : 1, sizeof *x->kept);
  x->overlay = calloc(k ? k : 1, sizeof *x->overlay);
  if (!x->kept || !x->overlay) {
    set_error(w, "ENOMEM", "out of memory");
    rc = -1;
    goto done;
  }
  for (size_t i = 0; i < k; i++) {
    if (is_overlay_xattr(names[i])) {
      if (w->overlay && !(x->overlay[x->noverlay++] = strdup(names[i]))) {
        set_error(w, "ENOMEM", "out of memory");
        rc = -1;
        goto done;
      }
      continue;
    }
    char *v;
    size_t vlen;
    int got = get_xattr(w, path, names[i], &v, &vlen);
    if (got < 0) {
      rc = -1;
      goto done;
    }
    if (got == 0) continue;
    xattr_kv *kv = &x->kept[x->nkept];
    if (!(kv->name = strdup(names[i]))) {
      free(v);
      set_error(w, "ENOMEM", "out of memory");
      rc = -1;
      goto done;
    }
    kv->name_len = strlen(names[i]);
    kv->value = v;
    kv->value_len = vlen;
    x->nkept++;
  }
done:
  free(names);
  free(list);
  if (rc) free_xattrs(x);
  return rc;
}

/* ------------------------------------------------------------------ tar headers (tar-header.ts) */

/* `value` as width-1 zero-padded octal digits and a NUL (the lowest digits, as writeOctal). */
static void write_octal(unsigned char *b, int width, uint64_t value) {
  for (int i = width - 2; i >= 0; i--) {
    b[i] = (unsigned char)('0' + (value % 8));
    value /= 8;
  }
  b[width - 1] = 0;
}

static int fits(double v, int width) {
  double max = width == 8 ? 2097151.0 : 8589934591.0;
  return v >= 0 && v <= max && v == (double)(uint64_t)v;
}

static int digits(size_t n) {
  int d = 1;
  while (n >= 10) {
    n /= 10;
    d++;
  }
  return d;
}

/* One PAX record "<len> <key>=<value>\n", len counting the whole record. */
static int pax_record(bytes *out, const char *key, size_t klen, const char *value, size_t vlen) {
  size_t rest = klen + vlen + 3;
  size_t len = rest + 1;
  while ((size_t)digits(len) + rest != len) len = (size_t)digits(len) + rest;
  char num[32];
  int nl = snprintf(num, sizeof num, "%zu ", len);
  if (bytes_put(out, num, (size_t)nl) || bytes_put(out, key, klen) || bytes_put(out, "=", 1) || bytes_put(out, value, vlen) || bytes_put(out, "\n", 1)) return -1;
  return 0;
}

typedef struct {
  const char *name;
  size_t name_len;
  char type; /* typeflag */
  int device;
  uint32_t mode;
  double uid, gid, size;
  const char *link;
  size_t link_len;
  uint32_t devmajor, devminor;
  const xattr_kv *xattrs;
  size_t nxattrs;
} header;

static void header_block(unsigned char *b, const header *h, char typeflag, const char *name, size_t name_len, const char *prefix, size_t prefix_len,
                         const char *link, size_t link_len, uint64_t uid, uint64_t gid, uint64_t size, uint64_t mtime) {
  memset(b, 0, BLOCK);
  memcpy(b, name, name_len < 100 ? name_len : 100);
  write_octal(b + 100, 8, h->mode & 07777);
  write_octal(b + 108, 8, uid);
  write_octal(b + 116, 8, gid);
  write_octal(b + 124, 12, size);
  write_octal(b + 136, 12, mtime);
  b[156] = (unsigned char)typeflag;
  memcpy(b + 157, link, link_len < 100 ? link_len : 100);
  memcpy(b + 257, "ustar\0" "00", 8);
  if (h->device) {
    write_octal(b + 329, 8, h->devmajor);
    write_octal(b + 337, 8, h->devminor);
  }
  memcpy(b + 345, prefix, prefix_len < 155 ? prefix_len : 155);
  memset(b + 148, ' ', 8);
  unsigned sum = 0;
  for (int i = 0; i < BLOCK; i++) sum += b[i];
  write_octal(b + 148, 7, sum);
  b[155] = ' ';
}

/* The header of one entry, PAX `x` header first when needed, appended to `out` (encodeHeader). */
static int encode_header(walker *w, bytes *out, const header *h) {
  bytes recs = {0};
  int rc = -1;
  const char *name = h->name, *prefix = "";
  size_t name_len = h->name_len, prefix_len = 0;
  int split = name_len <= 100;
  if (!split && name_len <= 256) {
    size_t lo = name_len > 101 ? name_len - 101 : 0, hi = name_len < 156 ? name_len : 156;
    for (size_t i = lo; i < hi; i++) {
      if (h->name[i] == '/' && i > 0 && name_len - i - 1 <= 100 && name_len - i - 1 > 0) {
        prefix = h->name;
        prefix_len = i;
        name = h->name + i + 1;
        name_len = h->name_len - i - 1;
        split = 1;
        break;
      }
    }
  }
  if (!split) {
    if (pax_record(&recs, "path", 4, h->name, h->name_len)) goto oom;
    name_len = 100;
  }
  size_t link_len = h->link_len;
  if (link_len > 100) {
    if (pax_record(&recs, "linkpath", 8, h->link, h->link_len)) goto oom;
    link_len = 100;
  }
  double vals[4] = {h->uid, h->gid, h->size, w->mtime};
  const char *keys[4] = {"uid", "gid", "size", "mtime"};
  int widths[4] = {8, 8, 12, 12};
  uint64_t num[4];
  for (int i = 0; i < 4; i++) {
    if (fits(vals[i], widths[i])) {
      num[i] = (uint64_t)vals[i];
      continue;
    }
    char s[40];
    int sl = snprintf(s, sizeof s, "%.0f", vals[i]); /* whole numbers (native-tar.ts checks the mtime) */
    if (pax_record(&recs, keys[i], strlen(keys[i]), s, (size_t)sl)) goto oom;
    num[i] = 0;
  }
  for (size_t i = 0; i < h->nxattrs; i++) {
    const xattr_kv *kv = &h->xattrs[i];
    char *key = join3("SCHILY.xattr.", "", kv->name);
    if (!key) goto oom;
    int bad = pax_record(&recs, key, strlen(key), kv->value, kv->value_len);
    free(key);
    if (bad) goto oom;
  }
  if (recs.len > 0) {
    /* PaxHeaders/<last component>, each UTF-16 unit outside printable ASCII as '_', 100 chars at most */
    char pax_name[101];
    size_t pn = 0;
    const char *pre = "PaxHeaders/";
    for (; pre[pn]; pn++) pax_name[pn] = pre[pn];
    size_t end = h->name_len;
    while (end > 0 && h->name[end - 1] == '/') end--;
    size_t start = end;
    while (start > 0 && h->name[start - 1] != '/') start--;
    for (size_t i = start; i < end && pn < 100;) {
      unsigned char c = (unsigned char)h->name[i];
      if (c < 0x80) {
        pax_name[pn++] = (c >= 0x20 && c <= 0x7e) ? (char)c : '_';
        i++;
      } else {
        int len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
        int units = len == 4 ? 2 : 1;
        for (int u = 0; u < units && pn < 100; u++) pax_name[pn++] = '_';
        i += (size_t)len;
      }
    }
    header pax = {0};
    pax.mode = 0644;
    unsigned char blk[BLOCK];
    header_block(blk, &pax, 'x', pax_name, pn, "", 0, "", 0, 0, 0, recs.len, num[3]);
    size_t padn = (BLOCK - recs.len % BLOCK) % BLOCK;
    if (bytes_put(out, blk, BLOCK) || bytes_put(out, recs.p, recs.len) || bytes_zeros(out, padn)) goto oom;
  }
  unsigned char blk[BLOCK];
  header_block(blk, h, h->type, name, name_len, prefix, prefix_len, h->link, link_len, num[0], num[1], num[2], num[3]);
  if (bytes_put(out, blk, BLOCK)) goto oom;
  rc = 0;
  goto done;
oom:
  set_error(w, "ENOMEM", "out of memory");
done:
  free(recs.p);
  return rc;
}

/* A whiteout or opaque marker: an empty file of mode 0. */
static int marker(walker *w, const char *name) {
  header h = {0};
  h.name = name;
  h.name_len = strlen(name);
  h.type = '0';
  h.link = "";
  return encode_header(w, &w->pending, &h);
}

/* ------------------------------------------------------------------ hard links */

static size_t link_hash(dev_t dev, ino_t ino, size_t cap) {
  uint64_t k = (uint64_t)ino * 0x9E3779B97F4A7C15ull ^ (uint64_t)dev;
  return (size_t)(k % cap);
}

/* The first path seen for (dev, ino), or NULL after recording `rel` as it. -1 on ENOMEM. */
static int link_first(walker *w, dev_t dev, ino_t ino, const char *rel, const char **first) {
  if (w->nlinks * 2 >= w->links_cap) {
    size_t cap = w->links_cap ? w->links_cap * 2 : 64;
    link_slot *s = calloc(cap, sizeof *s);
    if (!s) return -1;
    for (size_t i = 0; i < w->links_cap; i++) {
      if (!w->links[i].rel) continue;
      size_t j = link_hash(w->links[i].dev, w->links[i].ino, cap);
      while (s[j].rel) j = (j + 1) % cap;
      s[j] = w->links[i];
    }
    free(w->links);
    w->links = s;
    w->links_cap = cap;
  }
  size_t j = link_hash(dev, ino, w->links_cap);
  while (w->links[j].rel) {
    if (w->links[j].dev == dev && w->links[j].ino == ino) {
      *first = w->links[j].rel;
      return 0;
    }
    j = (j + 1) % w->links_cap;
  }
  char *copy = strdup(rel);
  if (!copy) return -1;
  w->links[j] = (link_slot){dev, ino, copy};
  w->nlinks++;
  *first = NULL;
  return 0;
}

/* ------------------------------------------------------------------ the walk (walk.ts walkDir) */

/* Appends the next entry's header(s) to pending and opens its body. 1: an entry, 0: the walk is over, -1: error. */
static int next_entry(walker *w) {
  for (;;) {
    if (w->depth == 0) return 0;
    level *d = &w->stack[w->depth - 1];
    if (d->next >= d->count) {
      free_level(d);
      w->depth--;
      continue;
    }
    const char *name = d->names[d->next++];
    char *rel = d->rel[0] ? join3(d->rel, "/", name) : strdup(name);
    char *abs = rel ? join3(w->root, "/", rel) : NULL;
    char *extra = NULL;
    xattrs x = {0};
    int rc = -1;
    if (!abs) {
      set_error(w, "ENOMEM", "out of memory");
      goto out;
    }
    struct stat st;
    if (lstat(abs, &st) != 0) {
      set_errno(w, errno, "lstat", abs);
      goto out;
    }
    if (read_xattrs(w, abs, &x)) goto out;
    if (w->overlay) {
      int whiteout = S_ISCHR(st.st_mode) && st.st_rdev == 0;
      if (!whiteout && S_ISREG(st.st_mode) && st.st_size == 0)
        for (size_t i = 0; i < x.noverlay; i++)
          if (ends_with(x.overlay[i], ".overlay.whiteout")) whiteout = 1;
      if (whiteout) {
        extra = d->rel[0] ? malloc(strlen(d->rel) + strlen(name) + 6) : malloc(strlen(name) + 5);
        if (!extra) {
          set_error(w, "ENOMEM", "out of memory");
          goto out;
        }
        if (d->rel[0]) sprintf(extra, "%s/.wh.%s", d->rel, name);
        else sprintf(extra, ".wh.%s", name);
        rc = marker(w, extra) ? -1 : 1;
        goto out;
      }
      for (size_t i = 0; i < x.noverlay; i++) {
        if (ends_with(x.overlay[i], ".overlay.redirect") || ends_with(x.overlay[i], ".overlay.metacopy")) {
          char *q = quoted(rel);
          size_t n = (q ? strlen(q) : 0) + strlen(w->root) + strlen(x.overlay[i]) + 64;
          char *msg = malloc(n);
          if (msg) snprintf(msg, n, "layer: %s in upper dir %s carries %s", q ? q : rel, w->root, x.overlay[i]);
          set_error(w, "ERR_LAYER_OVERLAY_FEATURE", msg ? msg : "layer: overlay feature");
          free(msg);
          free(q);
          goto out;
        }
      }
    }
    header h = {0};
    h.mode = st.st_mode & 07777;
    h.uid = st.st_uid;
    h.gid = st.st_gid;
    h.link = "";
    h.xattrs = x.kept;
    h.nxattrs = x.nkept;
    if (S_ISDIR(st.st_mode)) {
      extra = join3(rel, "/", "");
      if (!extra) {
        set_error(w, "ENOMEM", "out of memory");
        goto out;
      }
      h.name = extra;
      h.name_len = strlen(extra);
      h.type = '5';
      if (encode_header(w, &w->pending, &h)) goto out;
      for (size_t i = 0; w->overlay && i < x.noverlay; i++) {
        if (!ends_with(x.overlay[i], ".overlay.opaque")) continue;
        char *v = NULL;
        size_t vlen = 0;
        /* as walk.ts xattrValue: an attribute that cannot be read is not "y" */
        if (get_xattr(w, abs, x.overlay[i], &v, &vlen) == 1 && vlen == 1 && v[0] == 'y') {
          free(v);
          char *m = join3(rel, "/", ".wh..wh..opq");
          if (!m || marker(w, m)) {
            free(m);
            goto out;
          }
          free(m);
          break;
        }
        free(v);
      }
      rc = push_dir(w, rel) ? -1 : 1;
      goto out;
    }
    if (st.st_nlink > 1 && !S_ISSOCK(st.st_mode)) {
      const char *first;
      if (link_first(w, st.st_dev, st.st_ino, rel, &first)) {
        set_error(w, "ENOMEM", "out of memory");
        goto out;
      }
      if (first) {
        header l = {0};
        l.name = rel;
        l.name_len = strlen(rel);
        l.type = '1';
        l.mode = st.st_mode & 07777;
        l.uid = st.st_uid;
        l.gid = st.st_gid;
        l.link = first;
        l.link_len = strlen(first);
        rc = encode_header(w, &w->pending, &l) ? -1 : 1;
        goto out;
      }
    }
    h.name = rel;
    h.name_len = strlen(rel);
    if (S_ISREG(st.st_mode)) {
      h.type = '0';
      h.size = (double)st.st_size;
      if (encode_header(w, &w->pending, &h)) goto out;
      if (st.st_size > 0) {
        int fd = open(abs, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
          set_errno(w, errno, "open", abs);
          goto out;
        }
        w->fd = fd;
        w->body_size = w->body_left = (uint64_t)st.st_size;
        w->body_done = 0;
        free(w->body_name);
        w->body_name = strdup(rel);
        w->pad_left = (BLOCK - (uint64_t)st.st_size % BLOCK) % BLOCK;
      }
      rc = 1;
    } else if (S_ISLNK(st.st_mode)) {
      size_t cap = st.st_size > 0 ? (size_t)st.st_size + 1 : 256;
      for (;;) {
        extra = malloc(cap);
        if (!extra) {
          set_error(w, "ENOMEM", "out of memory");
          goto out;
        }
        ssize_t n = readlink(abs, extra, cap);
        if (n < 0) {
          set_errno(w, errno, "readlink", abs);
          goto out;
        }
        if ((size_t)n < cap) {
          h.link = extra;
          h.link_len = (size_t)n;
          break;
        }
        free(extra);
        extra = NULL;
        cap *= 2;
      }
      h.type = '2';
      rc = encode_header(w, &w->pending, &h) ? -1 : 1;
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      h.type = S_ISCHR(st.st_mode) ? '3' : '4';
      h.device = 1;
      h.devmajor = major(st.st_rdev);
      h.devminor = minor(st.st_rdev);
      rc = encode_header(w, &w->pending, &h) ? -1 : 1;
    } else if (S_ISFIFO(st.st_mode)) {
      h.type = '6';
      rc = encode_header(w, &w->pending, &h) ? -1 : 1;
    } else {
      rc = 2; /* a socket: not representable in a layer, skipped as containerd does */
    }
  out:
    free_xattrs(&x);
    free(extra);
    free(abs);
    free(rel);
    if (rc != 2) return rc;
  }
}

static void close_body(walker *w) {
  if (w->fd >= 0) close(w->fd);
  w->fd = -1;
}

/* Writes tar bytes into out[pos..cap); returns the new pos, or (size_t)-1 on error. */
static size_t fill(walker *w, unsigned char *out, size_t pos, size_t cap) {
  while (pos < cap) {
    if (w->pending_off < w->pending.len) {
      size_t n = w->pending.len - w->pending_off;
      if (n > cap - pos) n = cap - pos;
      memcpy(out + pos, w->pending.p + w->pending_off, n);
      pos += n;
      w->pending_off += n;
      if (w->pending_off == w->pending.len) w->pending.len = w->pending_off = 0;
      continue;
    }
    if (w->body_left > 0) {
      size_t want = cap - pos;
      if (want > w->body_left) want = (size_t)w->body_left;
      ssize_t n = read(w->fd, out + pos, want);
      if (n < 0) {
        if (errno == EINTR) continue;
        set_errno(w, errno, "read", w->body_name ? w->body_name : "");
        return (size_t)-1;
      }
      if (n == 0) {
        char *q = quoted(w->body_name ? w->body_name : "");
        char msg[512];
        snprintf(msg, sizeof msg, "tar: %s produced %llu bytes, header says %llu (file changed while packing?)", q ? q : "", (unsigned long long)w->body_done,
                 (unsigned long long)w->body_size);
        free(q);
        set_error(w, "ERR_LAYER_SIZE_CHANGED", msg);
        return (size_t)-1;
      }
      pos += (size_t)n;
      w->body_left -= (uint64_t)n;
      w->body_done += (uint64_t)n;
      if (w->body_left == 0) close_body(w);
      continue;
    }
    if (w->pad_left > 0 || (w->walk_done && w->end_left > 0)) {
      uint64_t *left = w->pad_left > 0 ? &w->pad_left : &w->end_left;
      size_t n = cap - pos;
      if (n > *left) n = (size_t)*left;
      memset(out + pos, 0, n);
      pos += n;
      *left -= n;
      continue;
    }
    if (w->walk_done) break;
    int r = next_entry(w);
    if (r < 0) return (size_t)-1;
    if (r == 0) {
      w->walk_done = 1;
      w->end_left = 2 * BLOCK;
    }
  }
  return pos;
}

static void walker_free(walker *w) {
  if (!w) return;
  close_body(w);
  while (w->depth > 0) free_level(&w->stack[--w->depth]);
  free(w->stack);
  for (size_t i = 0; i < w->links_cap; i++) free(w->links[i].rel);
  free(w->links);
  free(w->pending.p);
  free(w->body_name);
  free(w->root);
  free(w->err_msg);
  free(w->err_syscall);
  free(w->err_path);
  free(w);
}

/* ------------------------------------------------------------------ N-API */

typedef struct {
  walker *w;
} handle;

static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  handle *h = data;
  walker_free(h->w);
  free(h);
}

static napi_value throw_walker_error(napi_env env, walker *w) {
  napi_value msg, code, err;
  napi_create_string_utf8(env, w->err_msg ? w->err_msg : "tar walk failed", NAPI_AUTO_LENGTH, &msg);
  napi_create_string_utf8(env, w->err_code[0] ? w->err_code : "EIO", NAPI_AUTO_LENGTH, &code);
  napi_create_error(env, NULL, msg, &err);
  napi_set_named_property(env, err, "code", code);
  if (w->err_syscall) {
    napi_value v;
    napi_create_string_utf8(env, w->err_syscall, NAPI_AUTO_LENGTH, &v);
    napi_set_named_property(env, err, "syscall", v);
  }
  if (w->err_path) {
    napi_value v;
    napi_create_string_utf8(env, w->err_path, NAPI_AUTO_LENGTH, &v);
    napi_set_named_property(env, err, "path", v);
  }
  napi_throw(env, err);
  return NULL;
}

static char *get_string(napi_env env, napi_value v) {
  size_t len;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return NULL;
  char *s = malloc(len + 1);
  if (!s) return NULL;
  napi_get_value_string_utf8(env, v, s, len + 1, &len);
  return s;
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 3) {
    napi_throw_type_error(env, NULL, "open(root, overlay, mtime)");
    return NULL;
  }
  walker *w = calloc(1, sizeof *w);
  handle *h = calloc(1, sizeof *h);
  if (!w || !h) {
    free(w);
    free(h);
    napi_throw_error(env, "ENOMEM", "out of memory");
    return NULL;
  }
  w->fd = -1;
  h->w = w;
  w->root = get_string(env, argv[0]);
  bool overlay = false;
  napi_get_value_bool(env, argv[1], &overlay);
  w->overlay = overlay;
  napi_get_value_double(env, argv[2], &w->mtime);
  napi_value ext;
  if (!w->root || napi_create_external(env, h, finalize, NULL, &ext) != napi_ok) {
    walker_free(w);
    free(h);
    napi_throw_error(env, "ENOMEM", "out of memory");
    return NULL;
  }
  if (push_dir(w, "")) return throw_walker_error(env, w);
  return ext;
}

/* The call's first `n` arguments (missing ones undefined) and the handle in the first, or NULL. */
static handle *handle_arg(napi_env env, napi_callback_info info, napi_value *argv, size_t n) {
  size_t argc = n;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  handle *h = NULL;
  if (napi_get_value_external(env, argv[0], (void **)&h) != napi_ok) return NULL;
  return h;
}

static napi_value js_fill(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  handle *h = handle_arg(env, info, argv, 3);
  void *data = NULL;
  size_t len = 0;
  uint32_t pos = 0;
  if (!h || napi_get_buffer_info(env, argv[1], &data, &len) != napi_ok || napi_get_value_uint32(env, argv[2], &pos) != napi_ok || pos > len) {
    napi_throw_type_error(env, NULL, "fill(handle, buffer, offset)");
    return NULL;
  }
  if (!h->w) {
    napi_throw_error(env, "ERR_TAR_CLOSED", "the tar walk is closed");
    return NULL;
  }
  size_t r = fill(h->w, data, pos, len);
  if (r == (size_t)-1) return throw_walker_error(env, h->w);
  napi_value out;
  napi_create_double(env, (double)r, &out);
  return out;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  handle *h = handle_arg(env, info, argv, 1);
  if (h && h->w) {
    walker_free(h->w);
    h->w = NULL;
  }
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"fill", NULL, js_fill, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof *props, props);
  return exports;
}
