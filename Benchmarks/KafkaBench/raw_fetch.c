/* A raw Fetch reader: reads a topic from offset 0 to the end of every partition with hand-made
 * Fetch v4 requests and counts records from the RecordBatch v2 headers alone (no per-record
 * decoding), so that what is measured is the broker's Fetch, not a client library's record
 * parsing. Prints {"consumed", "consume_s", "cpu_s", "bytes", "fetches"} as JSON, like
 * fast_consume.c.
 *
 *   raw_fetch [--crc] [--one-connection] [--record FILE] HOST:PORT TOPIC PARTITIONS RECORDS
 *   raw_fetch --serve FILE PORT
 *
 * The requests are those librdkafka's defaults would make: max_wait_ms 500 (fetch.wait.max.ms),
 * min_bytes 1 (fetch.min.bytes), max_bytes 52428800 (fetch.max.bytes), partition_max_bytes
 * 1048576 (max.partition.fetch.bytes), isolation_level read_committed; no fetch session, one
 * request in flight per connection. By default there is one TCP connection (and one thread) per
 * partition; --one-connection puts every partition into each request on a single connection, as
 * librdkafka does with one broker.
 *
 * A response's record set is walked batch by batch (baseOffset, batchLength, lastOffsetDelta,
 * recordsCount); a partial batch at its end is skipped and the next fetch starts at the last whole
 * batch's next offset. --crc also checks each batch's CRC-32C (SSE 4.2 instruction when the CPU
 * has it). A partition is done when its next offset reaches the high watermark of its response.
 *
 * --record FILE keeps every request and response body; --serve FILE PORT is then a "broker" that
 * answers each request with the response recorded for the same request bytes, from memory: the
 * same reader against a server that does nothing but write() the bytes is the reader's ceiling.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PARTITIONS 256
#define FETCH_VERSION 4
#define MAX_WAIT_MS 500
#define MIN_BYTES 1
#define MAX_BYTES 52428800
#define PARTITION_MAX_BYTES 1048576
#define ISOLATION_READ_COMMITTED 1

static double now(clockid_t clock) {
  struct timespec t;
  clock_gettime(clock, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static void die(const char *what) {
  fprintf(stderr, "raw_fetch: %s: %s\n", what, errno ? strerror(errno) : "failed");
  exit(1);
}

/* ---- big-endian fields ---------------------------------------------------------------------- */

static inline uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t be64(const uint8_t *p) { return (uint64_t)be32(p) << 32 | be32(p + 4); }
static inline uint8_t *put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = (uint8_t)v; return p + 2; }
static inline uint8_t *put32(uint8_t *p, uint32_t v) {
  p[0] = v >> 24; p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
  return p + 4;
}
static inline uint8_t *put64(uint8_t *p, uint64_t v) { return put32(put32(p, (uint32_t)(v >> 32)), (uint32_t)v); }

/* ---- CRC-32C (Castagnoli), over attributes..end of a batch ------------------------------------ */

static uint32_t crc_table[256];
static int crc_hardware;

static void crc_init(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    crc_table[i] = c;
  }
  __builtin_cpu_init();
  crc_hardware = __builtin_cpu_supports("sse4.2");
}

__attribute__((target("sse4.2"))) static uint32_t crc_sse42(const uint8_t *p, size_t n) {
  uint64_t c = 0xFFFFFFFFu;
  for (; n >= 8; n -= 8, p += 8) {
    uint64_t v;
    memcpy(&v, p, 8);
    c = __builtin_ia32_crc32di(c, v);
  }
  uint32_t c32 = (uint32_t)c;
  for (; n; n--, p++) c32 = __builtin_ia32_crc32qi(c32, *p);
  return c32 ^ 0xFFFFFFFFu;
}

static uint32_t crc32c(const uint8_t *p, size_t n) {
  if (crc_hardware) return crc_sse42(p, n);
  uint32_t c = 0xFFFFFFFFu;
  while (n--) c = crc_table[(c ^ *p++) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

/* ---- socket I/O ----------------------------------------------------------------------------- */

static void write_all(int fd, const uint8_t *p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) die("write");
    p += w;
    n -= (size_t)w;
  }
}

/* 0 at a clean end of stream before the first byte, 1 when all n bytes were read. */
static int read_all(int fd, uint8_t *p, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, p + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r == 0 && got == 0) return 0;
    if (r <= 0) die("read");
    got += (size_t)r;
  }
  return 1;
}

/* One size-prefixed frame into *buf (grown as needed); returns its length, or -1 at end of stream. */
static long read_frame(int fd, uint8_t **buf, size_t *cap) {
  uint8_t size[4];
  if (!read_all(fd, size, 4)) return -1;
  size_t n = be32(size);
  if (n > *cap) {
    free(*buf);
    *cap = n + n / 4;
    if (!(*buf = malloc(*cap))) die("malloc");
  }
  if (!read_all(fd, *buf, n)) die("read: end of stream inside a frame");
  return (long)n;
}

static int connect_to(const char *hostport) {
  char host[256];
  const char *colon = strrchr(hostport, ':');
  if (!colon || (size_t)(colon - hostport) >= sizeof host) die("HOST:PORT expected");
  memcpy(host, hostport, (size_t)(colon - hostport));
  host[colon - hostport] = 0;
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai;
  if (getaddrinfo(host, colon + 1, &hints, &ai) != 0) die("getaddrinfo");
  int fd = socket(ai->ai_family, SOCK_STREAM, 0);
  if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) die("connect");
  freeaddrinfo(ai);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

/* ---- the reader ----------------------------------------------------------------------------- */

static const char *bootstrap, *topic;
static int check_crc;
static FILE *record_file;
static pthread_mutex_t record_lock = PTHREAD_MUTEX_INITIALIZER;

struct connection {
  int first, count;          /* the partitions this connection reads */
  int64_t offset[MAX_PARTITIONS], end[MAX_PARTITIONS];
  long records, batches, bytes, fetches;
  pthread_t thread;
};

/* Fetch v4: header v1 (api key, version, correlation id, client id), then replica_id,
 * max_wait_ms, min_bytes, max_bytes, isolation_level, [topic [partition, fetch_offset,
 * partition_max_bytes]]. Only partitions not yet at their end are asked for. */
static size_t fetch_request(struct connection *c, int32_t correlation, uint8_t *out) {
  static const char client[] = "raw_fetch";
  size_t topic_len = strlen(topic);
  uint8_t *p = out + 4;
  p = put16(p, 1);
  p = put16(p, FETCH_VERSION);
  p = put32(p, (uint32_t)correlation);
  p = put16(p, sizeof client - 1);
  memcpy(p, client, sizeof client - 1), p += sizeof client - 1;
  p = put32(p, (uint32_t)-1);
  p = put32(p, MAX_WAIT_MS);
  p = put32(p, MIN_BYTES);
  p = put32(p, MAX_BYTES);
  *p++ = ISOLATION_READ_COMMITTED;
  p = put32(p, 1);
  p = put16(p, (uint16_t)topic_len);
  memcpy(p, topic, topic_len), p += topic_len;
  uint8_t *count = p;
  p += 4;
  uint32_t asked = 0;
  for (int i = 0; i < c->count; i++) {
    if (c->end[i] >= 0 && c->offset[i] >= c->end[i]) continue;
    p = put32(p, (uint32_t)(c->first + i));
    p = put64(p, (uint64_t)c->offset[i]);
    p = put32(p, PARTITION_MAX_BYTES);
    asked++;
  }
  put32(count, asked);
  put32(out, (uint32_t)(p - out - 4));
  return (size_t)(p - out);
}

static void fail_response(const char *why) {
  fprintf(stderr, "raw_fetch: malformed fetch response: %s\n", why);
  exit(1);
}

/* Walks a record set: counts the records of every whole batch at or past the partition's
 * offset and moves the offset past them; a partial batch at the end is left for the next fetch. */
static void count_batches(struct connection *c, int i, const uint8_t *p, size_t n) {
  while (n >= 61) {
    int64_t base = (int64_t)be64(p);
    size_t size = 12 + (size_t)be32(p + 8);
    if (size < 61 || p[16] != 2) fail_response("not a RecordBatch v2");
    if (size > n) break;
    if (check_crc && crc32c(p + 21, size - 21) != be32(p + 17)) {
      fprintf(stderr, "raw_fetch: CRC mismatch in the batch at offset %lld\n", (long long)base);
      exit(1);
    }
    int64_t next = base + (int64_t)be32(p + 23) + 1;
    int64_t count = (int32_t)be32(p + 57);
    if (next > c->offset[i]) {
      /* A batch that starts before the offset asked for (only at the first fetch): its
       * records below the offset are not counted (offsets in a batch are contiguous here). */
      if (base < c->offset[i]) count -= c->offset[i] - base;
      c->records += count;
      c->batches++;
      c->offset[i] = next;
    }
    p += size;
    n -= size;
  }
}

static void parse_response(struct connection *c, int32_t correlation, const uint8_t *p, size_t n) {
  const uint8_t *end = p + n;
#define NEED(k) do { if ((size_t)(end - p) < (size_t)(k)) fail_response("truncated"); } while (0)
  NEED(12);
  if ((int32_t)be32(p) != correlation) fail_response("correlation id");
  p += 8; /* correlation id, throttle_time_ms */
  int32_t topics = (int32_t)be32(p);
  p += 4;
  for (int32_t t = 0; t < topics; t++) {
    NEED(2);
    size_t name = be16(p);
    NEED(2 + name + 4);
    p += 2 + name;
    int32_t partitions = (int32_t)be32(p);
    p += 4;
    for (int32_t k = 0; k < partitions; k++) {
      NEED(4 + 2 + 8 + 8 + 4);
      int32_t partition = (int32_t)be32(p);
      int16_t error = (int16_t)be16(p + 4);
      int64_t hwm = (int64_t)be64(p + 6);
      p += 4 + 2 + 8 + 8; /* partition, error, high watermark, last stable offset */
      int32_t aborted = (int32_t)be32(p);
      p += 4;
      if (aborted > 0) {
        NEED((size_t)aborted * 16);
        p += (size_t)aborted * 16;
      }
      NEED(4);
      int32_t size = (int32_t)be32(p);
      p += 4;
      if (size > 0) NEED(size);
      int i = partition - c->first;
      if (i < 0 || i >= c->count) fail_response("a partition not asked for");
      if (error) {
        fprintf(stderr, "raw_fetch: partition %d: error %d\n", partition, error);
        exit(1);
      }
      c->end[i] = hwm;
      if (size > 0) {
        count_batches(c, i, p, (size_t)size);
        c->bytes += size;
        p += size;
      }
    }
  }
#undef NEED
}

static void record(const uint8_t *request, size_t request_len, const uint8_t *response, size_t response_len) {
  uint8_t sizes[4];
  pthread_mutex_lock(&record_lock);
  fwrite(put32(sizes, (uint32_t)request_len) - 4, 1, 4, record_file);
  fwrite(request, 1, request_len, record_file);
  fwrite(put32(sizes, (uint32_t)response_len) - 4, 1, 4, record_file);
  fwrite(response, 1, response_len, record_file);
  pthread_mutex_unlock(&record_lock);
}

static void *read_partitions(void *arg) {
  struct connection *c = arg;
  int fd = connect_to(bootstrap);
  uint8_t *request = malloc(64 + strlen(topic) + 16 * (size_t)c->count);
  size_t cap = 2 << 20;
  uint8_t *buf = malloc(cap);
  if (!request || !buf) die("malloc");
  int32_t correlation = 0, idle = 0;
  for (;;) {
    int pending = 0;
    for (int i = 0; i < c->count; i++) pending += c->end[i] < 0 || c->offset[i] < c->end[i];
    if (!pending) break;
    size_t n = fetch_request(c, ++correlation, request);
    write_all(fd, request, n);
    long got = read_frame(fd, &buf, &cap);
    if (got < 0) die("read: the broker closed the connection");
    c->fetches++;
    if (record_file) record(request + 4, n - 4, buf, (size_t)got);
    long before = c->records;
    parse_response(c, correlation, buf, (size_t)got);
    /* Every fetch of a finished topic moves some partition on; 20 empty long polls in a row do not. */
    if (c->records == before && ++idle == 20) {
      fprintf(stderr, "raw_fetch: 20 fetches in a row without a record\n");
      exit(1);
    }
    if (c->records != before) idle = 0;
  }
  close(fd);
  free(buf);
  free(request);
  return NULL;
}

/* ---- the replay server ---------------------------------------------------------------------- */

struct exchange {
  uint8_t *request, *response; /* request body from its api key on; whole response body */
  uint32_t request_len, response_len;
};
static struct exchange *exchanges;
static size_t exchange_count;

/* The recorded response for a request whose bytes after the correlation id are the same. */
static struct exchange *lookup(const uint8_t *request, size_t n) {
  for (size_t i = 0; i < exchange_count; i++) {
    struct exchange *e = &exchanges[i];
    if (e->request_len == n && memcmp(e->request, request, 4) == 0 &&
        memcmp(e->request + 8, request + 8, n - 8) == 0)
      return e;
  }
  return NULL;
}

static void *serve_connection(void *arg) {
  int fd = (int)(intptr_t)arg;
  size_t cap = 1 << 16;
  uint8_t *buf = malloc(cap), size[4];
  long n;
  while ((n = read_frame(fd, &buf, &cap)) >= 8) {
    struct exchange *e = lookup(buf, (size_t)n);
    if (!e) {
      fprintf(stderr, "raw_fetch --serve: a request that was not recorded\n");
      break;
    }
    memcpy(e->response, buf + 4, 4); /* the correlation id of this request */
    write_all(fd, put32(size, e->response_len) - 4, 4);
    write_all(fd, e->response, e->response_len);
  }
  close(fd);
  free(buf);
  return NULL;
}

static _Noreturn void serve(const char *file, int port) {
  FILE *f = fopen(file, "rb");
  if (!f) die(file);
  size_t cap = 0;
  uint8_t sizes[4];
  while (fread(sizes, 1, 4, f) == 4) {
    if (exchange_count == cap) {
      cap = cap ? cap * 2 : 1024;
      exchanges = realloc(exchanges, cap * sizeof *exchanges);
    }
    struct exchange *e = &exchanges[exchange_count++];
    e->request_len = be32(sizes);
    e->request = malloc(e->request_len);
    if (fread(e->request, 1, e->request_len, f) != e->request_len || fread(sizes, 1, 4, f) != 4) die("truncated recording");
    e->response_len = be32(sizes);
    e->response = malloc(e->response_len);
    if (fread(e->response, 1, e->response_len, f) != e->response_len) die("truncated recording");
  }
  fclose(f);
  int listener = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (bind(listener, (struct sockaddr *)&address, sizeof address) != 0 || listen(listener, 64) != 0) die("bind");
  fprintf(stderr, "raw_fetch --serve: %zu recorded exchanges on 127.0.0.1:%d\n", exchange_count, port);
  for (;;) {
    int fd = accept(listener, NULL, NULL);
    if (fd < 0) continue;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    pthread_t thread;
    pthread_create(&thread, NULL, serve_connection, (void *)(intptr_t)fd);
    pthread_detach(thread);
  }
}

/* ---- main ----------------------------------------------------------------------------------- */

int main(int argc, char **argv) {
  int one_connection = 0;
  const char *record_path = NULL;
  int a = 1;
  if (argc == 4 && strcmp(argv[1], "--serve") == 0) serve(argv[2], atoi(argv[3]));
  for (; a < argc && argv[a][0] == '-'; a++) {
    if (strcmp(argv[a], "--crc") == 0) check_crc = 1;
    else if (strcmp(argv[a], "--one-connection") == 0) one_connection = 1;
    else if (strcmp(argv[a], "--record") == 0 && a + 1 < argc) record_path = argv[++a];
    else break;
  }
  if (argc - a != 4) {
    fprintf(stderr, "usage: raw_fetch [--crc] [--one-connection] [--record FILE] HOST:PORT TOPIC PARTITIONS RECORDS\n"
                    "       raw_fetch --serve FILE PORT\n");
    return 2;
  }
  bootstrap = argv[a];
  topic = argv[a + 1];
  int partitions = atoi(argv[a + 2]);
  long records = atol(argv[a + 3]);
  if (partitions < 1 || partitions > MAX_PARTITIONS) die("PARTITIONS: 1 to 256");
  crc_init();
  if (record_path && !(record_file = fopen(record_path, "wb"))) die(record_path);

  int connections = one_connection ? 1 : partitions;
  struct connection *cs = calloc((size_t)connections, sizeof *cs);
  for (int k = 0; k < connections; k++) {
    cs[k].first = one_connection ? 0 : k;
    cs[k].count = one_connection ? partitions : 1;
    for (int i = 0; i < cs[k].count; i++) cs[k].end[i] = -1;
  }
  double start = now(CLOCK_MONOTONIC), cpu = now(CLOCK_PROCESS_CPUTIME_ID);
  for (int k = 0; k < connections; k++) pthread_create(&cs[k].thread, NULL, read_partitions, &cs[k]);
  long consumed = 0, batches = 0, bytes = 0, fetches = 0;
  for (int k = 0; k < connections; k++) {
    pthread_join(cs[k].thread, NULL);
    consumed += cs[k].records;
    batches += cs[k].batches;
    bytes += cs[k].bytes;
    fetches += cs[k].fetches;
  }
  double wall = now(CLOCK_MONOTONIC) - start, cpu_s = now(CLOCK_PROCESS_CPUTIME_ID) - cpu;
  if (record_file) fclose(record_file);
  printf("{\"consumed\": %ld, \"consume_s\": %.4f, \"cpu_s\": %.4f, \"batches\": %ld, \"bytes\": %ld, "
         "\"fetches\": %ld, \"connections\": %d, \"crc\": %s}\n",
         consumed, wall, cpu_s, batches, bytes, fetches, connections, check_crc ? "true" : "false");
  if (consumed != records) {
    fprintf(stderr, "raw_fetch: %ld records read, %ld expected\n", consumed, records);
    return 1;
  }
  return 0;
}
