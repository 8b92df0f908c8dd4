/* Reads N records from the start of every partition of a topic with librdkafka, as fast as
 * librdkafka can, and prints {"consumed": n, "consume_s": seconds, "cpu_s": seconds} as JSON.
 * The consume half of bench-kafka: without Python's cost per message, the broker's Fetch is
 * what is measured. Built against Debian's rdkafka.h and run with the librdkafka 2.16 that the
 * confluent-kafka wheel bundles (the same library the Python clients use).
 *
 *   fast_consume BOOTSTRAP TOPIC PARTITIONS RECORDS [FIRST]
 *
 * reads partitions FIRST (default 0) to FIRST + PARTITIONS - 1: several readers side by side
 * show whether one reader was the limit.
 */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(clockid_t clock) {
  struct timespec t;
  clock_gettime(clock, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static void set(rd_kafka_conf_t *conf, const char *name, const char *value) {
  char error[512];
  if (rd_kafka_conf_set(conf, name, value, error, sizeof error) != RD_KAFKA_CONF_OK) {
    fprintf(stderr, "%s=%s: %s\n", name, value, error);
    exit(2);
  }
}

int main(int argc, char **argv) {
  if (argc != 5 && argc != 6) {
    fprintf(stderr, "usage: fast_consume BOOTSTRAP TOPIC PARTITIONS RECORDS [FIRST]\n");
    return 2;
  }
  int partitions = atoi(argv[3]);
  long records = atol(argv[4]);
  int first = argc == 6 ? atoi(argv[5]) : 0;
  char error[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", argv[1]);
  set(conf, "group.id", "bench-fast-reader");
  set(conf, "enable.auto.commit", "false");
  /* librdkafka pauses a partition's fetching for fetch.queue.backoff.ms (1 s) once its local
   * queue holds queued.min.messages (100,000): a reader this fast would mostly wait on that. */
  set(conf, "queued.min.messages", "1000000");
  rd_kafka_t *consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, error, sizeof error);
  if (!consumer) {
    fprintf(stderr, "rd_kafka_new: %s\n", error);
    return 2;
  }
  rd_kafka_topic_partition_list_t *assignment = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; p++)
    rd_kafka_topic_partition_list_add(assignment, argv[2], first + p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_assign(consumer, assignment);
  double start = now(CLOCK_MONOTONIC), cpu = now(CLOCK_PROCESS_CPUTIME_ID), last = start;
  long consumed = 0;
  while (consumed < records) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(consumer, 1000);
    double t = now(CLOCK_MONOTONIC);
    if (!m) {
      if (t - last > 30) {
        fprintf(stderr, "only %ld of %ld records after 30 s without one\n", consumed, records);
        return 1;
      }
      continue;
    }
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      consumed++;
      last = t;
    } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      fprintf(stderr, "consume: %s\n", rd_kafka_message_errstr(m));
    }
    rd_kafka_message_destroy(m);
  }
  printf("{\"consumed\": %ld, \"consume_s\": %.4f, \"cpu_s\": %.4f}\n", consumed, last - start,
         now(CLOCK_PROCESS_CPUTIME_ID) - cpu);
  rd_kafka_topic_partition_list_destroy(assignment);
  rd_kafka_destroy(consumer);
  return 0;
}
