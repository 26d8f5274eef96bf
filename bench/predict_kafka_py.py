"""The Python service teams write to score a Kafka topic: confluent-kafka's consumer in a group,
batches of 10,000 messages into a pandas DataFrame, features by the bundle's contract,
xgboost's inplace_predict, one JSON prediction a message produced with the input's key, the
batch's offsets committed once its predictions are delivered (at-least-once). It stops after
COUNT messages, as `cdn predict -e` stops at the end of the topic.

usage: predict_kafka_py.py BUNDLE BROKERS IN_TOPIC OUT_TOPIC GROUP COUNT [BATCH]
"""
import json
import sys

import numpy as np
import pandas as pd
import xgboost as xgb
from confluent_kafka import Consumer, Producer

bundle, brokers, src, dst, group = sys.argv[1:6]
count = int(sys.argv[6])
batch = int(sys.argv[7]) if len(sys.argv) > 7 else 10000
contract = json.load(open(f"{bundle}/contract.json"))
booster = xgb.Booster(model_file=f"{bundle}/model.ubj")
feats = contract["features"]
idf, tsf = contract["id_field"], contract["time_field"]
columns = [f["field"] for f in feats]

consumer = Consumer({
    "bootstrap.servers": brokers,
    "group.id": group,
    "auto.offset.reset": "earliest",
    "enable.auto.commit": False,
})
producer = Producer({"bootstrap.servers": brokers, "linger.ms": 10})
consumer.subscribe([src])


def features(df):
    x = np.empty((len(df), len(feats)), dtype=np.float32)
    for j, f in enumerate(feats):
        col = df[f["field"]] if f["field"] in df else pd.Series([None] * len(df))
        if f["kind"] == "numeric":
            x[:, j] = pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float32)
        else:
            codes = {c: i for i, c in enumerate(f.get("categories", []))}
            x[:, j] = col.map(codes).to_numpy(dtype=np.float32, na_value=np.nan)
    return x


done = 0
while done < count:
    msgs = consumer.consume(num_messages=min(batch, count - done), timeout=1.0)
    msgs = [m for m in msgs if m.error() is None]
    if not msgs:
        continue
    df = pd.DataFrame.from_records([json.loads(m.value()) for m in msgs])
    p = booster.inplace_predict(features(df), missing=np.nan)
    for m, sid, ts, v in zip(msgs, df[idf], df[tsf], p):
        out = json.dumps({"sampleID": int(sid), "timestamp": ts, "prediction": float(v)})
        while True:
            try:
                producer.produce(dst, out, key=m.key())
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    producer.flush()
    consumer.commit(asynchronous=True)
    done += len(msgs)
consumer.close()
