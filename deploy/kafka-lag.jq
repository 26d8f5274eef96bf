# librdkafka's statistics (cdn COMMAND --stats-interval DURATION --stats-file FILE, one JSON object
# a line) to one record per partition the consumer has assigned, for cdn load-influx:
#
#   {"time": 1795374716, "consumer_group": "predictors", "topic": "cdndata",
#    "partition": "3", "consumer_lag": 0, "hi_offset": 501, "committed_offset": 501}
#
# Usage: jq -c --unbuffered --arg group GROUP -f kafka-lag.jq
# consumer_lag is the partition's high watermark minus the consumer's position (librdkafka
# says -1 while it does not know either; those partitions are left out); time is the wall
# clock in seconds (load with --time-field time --precision s).
select(.type == "consumer")
| .time as $time
| .topics[]
| .topic as $topic
| .partitions[]
| select(.partition >= 0 and .consumer_lag >= 0)
| {time: $time, consumer_group: $group, topic: $topic, partition: (.partition | tostring),
   consumer_lag, hi_offset, committed_offset}
