#!/usr/bin/env python3
"""Writes the conformance fixtures of SluiceKafkaTests: real requests encoded by kafka-python
3.0.12's own encoder, one `<name>.hex` per request (the frame body after the 4-byte size:
request header, then body), a few responses (`<name>-response.hex`: response header, then body)
and the consumer protocol's subscription and assignment bytes (`consumer-*.hex`).

Run by hand in a throwaway venv:

    python3 -m venv /tmp/kpvenv && /tmp/kpvenv/bin/pip install kafka-python==3.0.12
    /tmp/kpvenv/bin/python Tests/SluiceKafkaTests/Fixtures/make-fixtures.py

The Swift tests decode each fixture, check its fields, and re-encode it byte for byte; keep the
values below in step with KafkaConformanceTests.swift.
"""

from pathlib import Path

import kafka
from kafka.protocol.admin import CreateTopicsRequest
from kafka.protocol.consumer import (
    ConsumerProtocolAssignment, ConsumerProtocolSubscription, FetchRequest, FetchResponse, JoinGroupRequest, JoinGroupResponse, OffsetCommitRequest, OffsetCommitResponse,
    SyncGroupRequest)
from kafka.protocol.metadata import (
    ApiVersionsRequest, ApiVersionsResponse, FindCoordinatorRequest, FindCoordinatorResponse, MetadataRequest,
    MetadataResponse)
from kafka.protocol.producer import ProduceRequest, ProduceResponse
from kafka.record.memory_records import MemoryRecordsBuilder

assert kafka.__version__ == "3.0.12", kafka.__version__
HERE = Path(__file__).resolve().parent
CLIENT_ID = "sluice-fixtures"


def record_batch():
    """A RecordBatch v2 (magic 2, no compression) with two records."""
    builder = MemoryRecordsBuilder(magic=2, compression_type=0, batch_size=1 << 20)
    builder.append(1_700_000_000_000, key=b"k1", value=b"hello", headers=[])
    builder.append(1_700_000_000_001, key=None, value=b"world", headers=[("h", b"v")])
    builder.close()
    return bytes(builder.buffer())


def request(message, correlation_id):
    message.with_header(correlation_id=correlation_id, client_id=CLIENT_ID)
    return message.encode(header=True)


def fixtures():
    batch = record_batch()
    yield "api-versions-v3", request(
        ApiVersionsRequest[3](client_software_name="kafka-python", client_software_version="3.0.12"), 1)
    yield "metadata-v12", request(
        MetadataRequest[12](
            topics=[MetadataRequest.MetadataRequestTopic(name="orders"),
                    MetadataRequest.MetadataRequestTopic(name="payments")],
            allow_auto_topic_creation=True,
            include_topic_authorized_operations=False), 2)
    produce_topic = ProduceRequest.TopicProduceData
    yield "produce-v9", request(
        ProduceRequest[9](
            transactional_id=None, acks=-1, timeout_ms=30000,
            topic_data=[produce_topic(name="orders", partition_data=[
                produce_topic.PartitionProduceData(index=0, records=batch)])]), 3)
    fetch_topic = FetchRequest.FetchTopic
    yield "fetch-v12", request(
        FetchRequest[12](
            replica_id=-1, max_wait_ms=500, min_bytes=1, max_bytes=52428800, isolation_level=0,
            session_id=0, session_epoch=-1,
            topics=[fetch_topic(topic="orders", partitions=[
                fetch_topic.FetchPartition(partition=0, current_leader_epoch=-1, fetch_offset=42,
                                           last_fetched_epoch=-1, log_start_offset=-1,
                                           partition_max_bytes=1048576)])],
            forgotten_topics_data=[], rack_id=""), 4)
    yield "join-group-v7", request(
        JoinGroupRequest[7](
            group_id="sluice-group", session_timeout_ms=10000, rebalance_timeout_ms=300000,
            member_id="", group_instance_id=None, protocol_type="consumer",
            protocols=[JoinGroupRequest.JoinGroupRequestProtocol(name="range", metadata=b"\x00\x01\x02")]), 5)
    yield "sync-group-v5", request(
        SyncGroupRequest[5](
            group_id="sluice-group", generation_id=3, member_id="member-1", group_instance_id=None,
            protocol_type="consumer", protocol_name="range",
            assignments=[SyncGroupRequest.SyncGroupRequestAssignment(member_id="member-1",
                                                                     assignment=b"\x00\x01")]), 6)
    commit_topic = OffsetCommitRequest.OffsetCommitRequestTopic
    yield "offset-commit-v8", request(
        OffsetCommitRequest[8](
            group_id="sluice-group", generation_id_or_member_epoch=3, member_id="member-1",
            group_instance_id=None,
            topics=[commit_topic(name="orders", partitions=[
                commit_topic.OffsetCommitRequestPartition(partition_index=0, committed_offset=43,
                                                          committed_leader_epoch=-1,
                                                          committed_metadata="")])]), 7)
    yield "find-coordinator-v4", request(
        FindCoordinatorRequest[4](key_type=0, coordinator_keys=["sluice-group"]), 8)
    creatable = CreateTopicsRequest.CreatableTopic
    yield "create-topics-v7", request(
        CreateTopicsRequest[7](
            topics=[creatable(name="orders", num_partitions=3, replication_factor=1, assignments=[],
                              configs=[creatable.CreatableTopicConfig(name="cleanup.policy",
                                                                      value="compact")])],
            timeout_ms=30000, validate_only=False), 9)
    # A response: ApiVersions v3 as a broker answers it (header always v0).
    response = ApiVersionsResponse[3](
        error_code=0, throttle_time_ms=0,
        api_keys=[ApiVersionsResponse.ApiVersion(api_key=0, min_version=0, max_version=11),
                  ApiVersionsResponse.ApiVersion(api_key=18, min_version=0, max_version=4)])
    yield "api-versions-v3-response", reply(response, 1)
    # Responses a broker sends, as kafka-python encodes them (it decodes them the same way).
    yield "metadata-v12-response", reply(MetadataResponse[12](
        throttle_time_ms=0,
        brokers=[MetadataResponse.MetadataResponseBroker(node_id=1, host="127.0.0.1", port=9092, rack=None)],
        cluster_id="sluice", controller_id=1,
        topics=[MetadataResponse.MetadataResponseTopic(
            error_code=0, name="orders", topic_id=None, is_internal=False,
            partitions=[MetadataResponse.MetadataResponseTopic.MetadataResponsePartition(
                error_code=0, partition_index=0, leader_id=1, leader_epoch=0, replica_nodes=[1],
                isr_nodes=[1], offline_replicas=[])])]), 2)
    produce = ProduceResponse.TopicProduceResponse
    yield "produce-v9-response", reply(ProduceResponse[9](
        responses=[produce(name="orders", partition_responses=[produce.PartitionProduceResponse(
            index=0, error_code=0, base_offset=100, log_append_time_ms=-1, log_start_offset=0,
            record_errors=[], error_message=None)])],
        throttle_time_ms=0), 3)
    fetched = FetchResponse.FetchableTopicResponse
    yield "fetch-v12-response", reply(FetchResponse[12](
        throttle_time_ms=0, error_code=0, session_id=0,
        responses=[fetched(topic="orders", partitions=[fetched.PartitionData(
            partition_index=0, error_code=0, high_watermark=2, last_stable_offset=2, log_start_offset=0,
            aborted_transactions=None, preferred_read_replica=-1, records=batch)])]), 4)
    yield "join-group-v7-response", reply(JoinGroupResponse[7](
        throttle_time_ms=0, error_code=0, generation_id=3, protocol_type="consumer", protocol_name="range",
        leader="member-1", member_id="member-1",
        members=[JoinGroupResponse.JoinGroupResponseMember(member_id="member-1", group_instance_id=None,
                                                           metadata=b"\x00\x01\x02")]), 5)
    commit = OffsetCommitResponse.OffsetCommitResponseTopic
    yield "offset-commit-v8-response", reply(OffsetCommitResponse[8](
        throttle_time_ms=0,
        topics=[commit(name="orders", partitions=[commit.OffsetCommitResponsePartition(
            partition_index=0, error_code=0)])]), 7)
    yield "find-coordinator-v4-response", reply(FindCoordinatorResponse[4](
        throttle_time_ms=0,
        coordinators=[FindCoordinatorResponse.Coordinator(key="sluice-group", node_id=1, host="127.0.0.1",
                                                          port=9092, error_code=0, error_message=None)]), 8)

    # The consumer protocol's bytes inside JoinGroup / SyncGroup (INT16 version, then the struct).
    subscription = ConsumerProtocolSubscription
    yield "consumer-subscription-v3", subscription(
        version=3, topics=["orders", "payments"], user_data=None,
        owned_partitions=[subscription.TopicPartition(topic="orders", partitions=[0, 1])],
        generation_id=4, rack_id="r1").encode()
    assignment = ConsumerProtocolAssignment
    yield "consumer-assignment-v3", assignment(
        version=3, assigned_partitions=[assignment.TopicPartition(topic="orders", partitions=[0, 2])],
        user_data=b"\x09").encode()


def reply(message, correlation_id):
    message.with_header(correlation_id=correlation_id)
    return message.encode(header=True)


def main():
    for name, data in fixtures():
        (HERE / f"{name}.hex").write_text(data.hex() + "\n")
        print(f"{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
