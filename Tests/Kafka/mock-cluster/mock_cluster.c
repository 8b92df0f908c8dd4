/*
 * mock_cluster: librdkafka's mock cluster (rdkafka_mock.h, Debian's librdkafka-dev 2.0.2) as a
 * process the Swift tests drive: N brokers on loopback (3 by default, `mock_cluster [brokers]`),
 * their bootstrap list printed as the first line on stdout, then one command per line on stdin,
 * each answered with one line: "ok" or "error <why>". EOF on stdin ends it, so a test that dies
 * takes its cluster with it.
 *
 * Commands (api keys and error codes are Kafka's numbers):
 *   topic NAME PARTITIONS [REPLICATION]     create a topic (replication 3 by default)
 *   leader TOPIC PARTITION BROKER           move a partition's leader (-1: leaderless)
 *   errors APIKEY CODE...                   the next requests of APIKEY, on any broker, fail
 *                                           with these codes in turn (-195: disconnect)
 *   delays BROKER APIKEY CODE MS [CODE MS]...  the next requests of APIKEY on BROKER answer
 *                                           with CODE (0: none) after MS milliseconds
 *   clear APIKEY                            drop the cluster-wide errors still pending
 *   rtt BROKER MS                           every answer of BROKER comes MS ms late
 *   down BROKER / up BROKER                 disconnect and refuse / accept again (no leader
 *                                           change)
 *   coordinator TYPE KEY BROKER             TYPE is "transaction" or "group"
 *   apiversion APIKEY MIN MAX               what ApiVersions advertises (-1 -1: hide the API)
 *
 * Build: cc -O1 -o mock_cluster mock_cluster.c -lrdkafka
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ARGS 64

static int parse_int(const char *text, long *value) {
  char *end;
  *value = strtol(text, &end, 10);
  return *text != '\0' && *end == '\0';
}

/* Parses argv[from..argc) as integers into values; 0 when one is not a number. */
static int parse_ints(char **argv, int from, int argc, long *values) {
  for (int i = from; i < argc; i++) {
    if (!parse_int(argv[i], &values[i - from])) return 0;
  }
  return 1;
}

static void reply(rd_kafka_resp_err_t err) {
  if (err)
    printf("error %s\n", rd_kafka_err2name(err));
  else
    printf("ok\n");
}

static void run(rd_kafka_mock_cluster_t *cluster, int argc, char **argv) {
  long n[MAX_ARGS];
  const char *command = argv[0];
  if (!strcmp(command, "topic") && (argc == 3 || argc == 4) && parse_ints(argv, 2, argc, n)) {
    reply(rd_kafka_mock_topic_create(cluster, argv[1], (int)n[0], argc == 4 ? (int)n[1] : 3));
  } else if (!strcmp(command, "leader") && argc == 4 && parse_ints(argv, 2, 4, n)) {
    reply(rd_kafka_mock_partition_set_leader(cluster, argv[1], (int32_t)n[0], (int32_t)n[1]));
  } else if (!strcmp(command, "errors") && argc >= 3 && parse_ints(argv, 1, argc, n)) {
    rd_kafka_resp_err_t codes[MAX_ARGS];
    for (int i = 1; i < argc - 1; i++) codes[i - 1] = (rd_kafka_resp_err_t)n[i];
    rd_kafka_mock_push_request_errors_array(cluster, (int16_t)n[0], (size_t)(argc - 2), codes);
    reply(RD_KAFKA_RESP_ERR_NO_ERROR);
  } else if (!strcmp(command, "delays") && argc >= 5 && argc % 2 == 1 &&
             parse_ints(argv, 1, argc, n)) {
    /* The call is variadic; pushing one pair at a time keeps the order (it appends). */
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    for (int i = 2; i + 1 < argc - 1 && !err; i += 2) {
      err = rd_kafka_mock_broker_push_request_error_rtts(
          cluster, (int32_t)n[0], (int16_t)n[1], 1, (rd_kafka_resp_err_t)n[i], (int)n[i + 1]);
    }
    reply(err);
  } else if (!strcmp(command, "clear") && argc == 2 && parse_ints(argv, 1, 2, n)) {
    rd_kafka_mock_clear_request_errors(cluster, (int16_t)n[0]);
    reply(RD_KAFKA_RESP_ERR_NO_ERROR);
  } else if (!strcmp(command, "rtt") && argc == 3 && parse_ints(argv, 1, 3, n)) {
    reply(rd_kafka_mock_broker_set_rtt(cluster, (int32_t)n[0], (int)n[1]));
  } else if (!strcmp(command, "down") && argc == 2 && parse_ints(argv, 1, 2, n)) {
    reply(rd_kafka_mock_broker_set_down(cluster, (int32_t)n[0]));
  } else if (!strcmp(command, "up") && argc == 2 && parse_ints(argv, 1, 2, n)) {
    reply(rd_kafka_mock_broker_set_up(cluster, (int32_t)n[0]));
  } else if (!strcmp(command, "coordinator") && argc == 4 && parse_ints(argv, 3, 4, n)) {
    reply(rd_kafka_mock_coordinator_set(cluster, argv[1], argv[2], (int32_t)n[0]));
  } else if (!strcmp(command, "apiversion") && argc == 4 && parse_ints(argv, 1, 4, n)) {
    reply(rd_kafka_mock_set_apiversion(cluster, (int16_t)n[0], (int16_t)n[1], (int16_t)n[2]));
  } else {
    printf("error unknown command or arguments: %s\n", command);
  }
}

int main(int argc, char **argv) {
  int brokers = argc > 1 ? atoi(argv[1]) : 3;
  char reason[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  /* MOCK_DEBUG=mock (or all) makes librdkafka log what the mock brokers do, on stderr. */
  /* Without it, only warnings and worse (not the notice that no bootstrap.servers is set). */
  const char *debug = getenv("MOCK_DEBUG");
  if (debug && *debug
          ? rd_kafka_conf_set(conf, "debug", debug, reason, sizeof reason) != RD_KAFKA_CONF_OK
          : rd_kafka_conf_set(conf, "log_level", "4", reason, sizeof reason) != RD_KAFKA_CONF_OK) {
    fprintf(stderr, "mock_cluster: %s\n", reason);
    return 2;
  }
  /* The handle only hosts the mock cluster; it never connects anywhere itself. */
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, reason, sizeof reason);
  if (!rk) {
    fprintf(stderr, "mock_cluster: rd_kafka_new: %s\n", reason);
    return 2;
  }
  rd_kafka_mock_cluster_t *cluster = rd_kafka_mock_cluster_new(rk, brokers);
  if (!cluster) {
    fprintf(stderr, "mock_cluster: rd_kafka_mock_cluster_new failed\n");
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("%s\n", rd_kafka_mock_cluster_bootstraps(cluster));

  char line[4096];
  while (fgets(line, sizeof line, stdin)) {
    char *args[MAX_ARGS];
    int count = 0;
    for (char *word = strtok(line, " \t\r\n"); word && count < MAX_ARGS;
         word = strtok(NULL, " \t\r\n")) {
      args[count++] = word;
    }
    if (count > 0) run(cluster, count, args);
  }
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(rk);
  return 0;
}
