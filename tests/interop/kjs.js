#!/usr/bin/env node
// kafkajs, an independent Kafka client in pure JavaScript, driven from tests/cli/interop.bats
// against `cdn broker`. Brokers come from CDN_BROKERS (host:port,...). Every command prints
// NDJSON on stdout, one object a line, and exits 0, or prints `error: ...` on stderr and exits 1.
//
//   kjs.js produce TOPIC [--idempotent] [--tid ID]
//       sends the messages read from stdin, one JSON object a line:
//       {"key", "value", "partition", "timestamp" (ms, as a string), "headers": {k: v}};
//       with --tid, in one committed transaction. Prints {"sent": N}.
//   kjs.js consume TOPIC N [--group G] [--uncommitted]
//       reads N messages from the beginning (read_committed unless --uncommitted), prints each
//       {"partition", "offset", "key", "value", "timestamp", "headers"}, then stops; fails
//       when they do not come within 20 s.
//   kjs.js fence TOPIC TID
//       two instances of one transactional id: the old writes `old-1`; the new starts and
//       writes `new-1`; the old writes `old-2` and commits; the new writes `new-2` and aborts;
//       then a plain producer writes `plain`. Prints one {"step", "ok", "error"} per step.
//   kjs.js interleaved TOPIC
//       two transactional producers write in turn to partitions 0 (a first) and 1 (b first),
//       both abort, then a plain producer writes `plain` to each. Prints {"aborted": 2}.
//   kjs.js timed-out TOPIC
//       b writes `b-0` to partition 1 and aborts; t writes `t-1` to partitions 0 and 1 and
//       lets its transaction time out (1 s), which cdn broker aborts; b writes `b-1` to
//       partition 0 and aborts; a plain producer writes `plain` to each. Prints
//       {"timed_out": true} once the broker has aborted t.
//   kjs.js group TOPIC GROUP N [--late-ms MS]
//       two consumers in one group read N messages between them (the first joins, and leads,
//       before the second; the second's SyncGroup requests leave MS late); prints each with
//       the consumer that read it ({"consumer": 1|2, "partition", "offset", "value"}) and,
//       at the end, {"members": [partitions of consumer 1, of consumer 2]}; commits offsets.
//   kjs.js offsets TOPIC [GROUP]
//       the admin client's fetchTopicOffsets (plus read_committed offsets) and, with GROUP,
//       fetchOffsets: {"partition", "high", "low"}... then {"group": [{partition, offset}]}.
'use strict';

const { Kafka, logLevel } = require('kafkajs');

const brokers = (process.env.CDN_BROKERS || 'localhost:9092').split(',');
const kafkaLogLevel = process.env.KJS_LOG ? Number(process.env.KJS_LOG) : logLevel.NOTHING;
const kafka = new Kafka({
  clientId: 'cdn-interop',
  brokers,
  logLevel: kafkaLogLevel,
  retry: { retries: 5, initialRetryTime: 100 },
});

// A client whose SyncGroup requests leave `lateMs` late (and what it writes after them
// waits its turn): a group member slower than its leader, as over a real network.
function lateClient(lateMs) {
  const net = require('net');
  const socketFactory = ({ host, port, onConnect }) => {
    const socket = net.connect({ host, port }, onConnect);
    const write = socket.write.bind(socket);
    let queue = Promise.resolve();
    socket.write = (buf, ...rest) => {
      const sync = Buffer.isBuffer(buf) && buf.length >= 6 && buf.readInt16BE(4) === 14;
      queue = queue
        .then(() => sync && new Promise((resolve) => setTimeout(resolve, lateMs)))
        .then(() => !socket.destroyed && write(buf, ...rest));
      return true;
    };
    return socket;
  };
  return new Kafka({ clientId: 'cdn-interop-late', brokers, logLevel: kafkaLogLevel, socketFactory });
}

const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');

function flag(args, name) {
  const i = args.indexOf(name);
  if (i < 0) return false;
  args.splice(i, 1);
  return true;
}

function option(args, name) {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
}

async function readStdin() {
  let text = '';
  for await (const chunk of process.stdin) text += chunk;
  return text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l));
}

function headersOf(h) {
  const o = {};
  for (const [k, v] of Object.entries(h || {})) o[k] = Buffer.isBuffer(v) ? v.toString() : String(v);
  return o;
}

function view(m, partition) {
  return {
    partition,
    offset: Number(m.offset),
    key: m.key === null ? null : m.key.toString(),
    value: m.value === null ? null : m.value.toString(),
    timestamp: m.timestamp,
    headers: headersOf(m.headers),
  };
}

async function produce(args) {
  const idempotent = flag(args, '--idempotent');
  const tid = option(args, '--tid');
  const [topic] = args;
  const messages = (await readStdin()).map((m) => ({
    ...m,
    value: m.value === null || m.value === undefined ? null : String(m.value),
  }));
  const producer = kafka.producer(
    tid ? { transactionalId: tid, idempotent: true, maxInFlightRequests: 1 } : { idempotent }
  );
  await producer.connect();
  if (tid) {
    const txn = await producer.transaction();
    await txn.send({ topic, messages });
    await txn.commit();
  } else {
    await producer.send({ topic, messages, acks: -1 });
  }
  await producer.disconnect();
  out({ sent: messages.length });
}

async function consume(args) {
  const group = option(args, '--group') || `kjs-${process.pid}-${Date.now()}`;
  const uncommitted = flag(args, '--uncommitted');
  const [topic, n] = args;
  const want = Number(n);
  const consumer = kafka.consumer({ groupId: group, readUncommitted: uncommitted, maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const got = [];
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${got.length} of ${want} messages in 20 s`)), 20000);
    const finish = () => {
      clearTimeout(timer);
      resolve();
    };
    if (want === 0) {
      // Nothing should come: read for 3 s and report what does.
      clearTimeout(timer);
      setTimeout(resolve, 3000);
    }
    consumer
      .run({
        eachMessage: async ({ partition, message }) => {
          got.push(view(message, partition));
          if (got.length === want) finish();
        },
      })
      .catch(reject);
  }).finally(() => consumer.disconnect());
  got.sort((a, b) => a.partition - b.partition || a.offset - b.offset).forEach(out);
}

async function step(name, f) {
  try {
    await f();
    out({ step: name, ok: true });
  } catch (e) {
    out({ step: name, ok: false, error: e.type || e.name });
  }
}

function txnProducer(tid) {
  return kafka.producer({
    transactionalId: tid,
    idempotent: true,
    maxInFlightRequests: 1,
    retry: { retries: 1, initialRetryTime: 100 },
  });
}

async function fence(args) {
  const [topic, tid] = args;
  const msg = (value) => ({ topic, messages: [{ value, partition: 0 }] });
  const oldp = txnProducer(tid);
  await oldp.connect();
  const oldt = await oldp.transaction();
  await step('old writes old-1', () => oldt.send(msg('old-1')));
  const newp = txnProducer(tid);
  await newp.connect();
  const newt = await newp.transaction();
  await step('new writes new-1', () => newt.send(msg('new-1')));
  await step('old writes old-2', () => oldt.send(msg('old-2')));
  await step('old commits', () => oldt.commit());
  await step('new writes new-2', () => newt.send(msg('new-2')));
  await step('new aborts', () => newt.abort());
  const plain = kafka.producer();
  await plain.connect();
  await step('plain writes plain', () => plain.send(msg('plain')));
  await Promise.all([oldp.disconnect(), newp.disconnect(), plain.disconnect()]);
}

async function interleaved(args) {
  const [topic] = args;
  const to = (partition, value) => ({ topic, messages: [{ value, partition }] });
  const a = txnProducer(`${topic}-a`);
  const b = txnProducer(`${topic}-b`);
  await Promise.all([a.connect(), b.connect()]);
  const ta = await a.transaction();
  const tb = await b.transaction();
  // a first in partition 0, b first in partition 1: whichever producer id is lower, one of
  // the partitions has the lower one second
  await ta.send(to(0, 'a-1'));
  await tb.send(to(0, 'b-1'));
  await tb.send(to(1, 'b-1'));
  await ta.send(to(1, 'a-1'));
  await ta.send(to(0, 'a-2'));
  await tb.send(to(0, 'b-2'));
  await tb.send(to(1, 'b-2'));
  await ta.send(to(1, 'a-2'));
  await ta.abort();
  await tb.abort();
  out({ aborted: 2 });
  const plain = kafka.producer();
  await plain.connect();
  await plain.send({ topic, messages: [{ value: 'plain', partition: 0 }, { value: 'plain', partition: 1 }] });
  await Promise.all([a.disconnect(), b.disconnect(), plain.disconnect()]);
}

// The read_committed end of each partition of `topic` (the admin client asks read_committed).
async function stableEnds(admin, topic) {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.sort((x, y) => x.partition - y.partition).map((p) => Number(p.high));
}

async function timedOut(args) {
  const [topic] = args;
  const to = (partition, value) => ({ topic, messages: [{ value, partition }] });
  const b = txnProducer(`${topic}-b`);
  const t = kafka.producer({
    transactionalId: `${topic}-t`,
    idempotent: true,
    maxInFlightRequests: 1,
    transactionTimeout: 1000,
  });
  const admin = kafka.admin();
  await Promise.all([b.connect(), t.connect(), admin.connect()]);
  const tb1 = await b.transaction();
  await tb1.send(to(1, 'b-0'));
  await tb1.abort();
  const tt = await t.transaction();
  await tt.send(to(0, 't-1'));
  await tt.send(to(1, 't-1'));
  // cdn broker aborts the transaction after its timeout: the stable ends pass its markers
  const deadline = Date.now() + 20000;
  for (;;) {
    const ends = await stableEnds(admin, topic);
    if (ends[0] === 2 && ends[1] === 4) break;
    if (Date.now() > deadline) throw new Error(`the timed-out transaction is still open: ${ends}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  out({ timed_out: true });
  const tb2 = await b.transaction();
  await tb2.send(to(0, 'b-1'));
  await tb2.abort();
  const plain = kafka.producer();
  await plain.connect();
  await plain.send({ topic, messages: [{ value: 'plain', partition: 0 }, { value: 'plain', partition: 1 }] });
  await Promise.all([b.disconnect(), t.disconnect(), admin.disconnect(), plain.disconnect()]);
}

async function group(args) {
  const lateMs = Number(option(args, '--late-ms') || 0);
  const [topic, groupId, n] = args;
  const want = Number(n);
  const got = [];
  const members = [new Set(), new Set()];
  const settings = { groupId, maxWaitTimeInMs: 200, sessionTimeout: 6000, rebalanceTimeout: 6000, heartbeatInterval: 500 };
  const consumers = [kafka.consumer(settings), (lateMs ? lateClient(lateMs) : kafka).consumer(settings)];
  // The first joins alone (and leads the group), then the second joins.
  const joined = new Promise((resolve) => consumers[0].on(consumers[0].events.GROUP_JOIN, resolve));
  const admin = kafka.admin();
  await admin.connect();
  const partitions = (await admin.fetchTopicOffsets(topic)).length;
  await admin.disconnect();
  let settled = null;
  // Both members hold partitions, every partition is held, none twice.
  const split = () =>
    members.every((m) => m.size > 0) &&
    [...members[0]].every((p) => !members[1].has(p)) &&
    members[0].size + members[1].size === partitions;
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${got.length} of ${want} messages in 30 s`)), 30000);
    const check = () => {
      if (got.length >= want && split() && !settled) {
        // what the members held then: leaving the group below may rebalance it again
        settled = members.map((m) => [...m].sort((a, b) => a - b));
        clearTimeout(timer);
        resolve();
      }
    };
    consumers.forEach((c, i) => {
      c.on(c.events.CRASH, (e) => reject(new Error(`consumer ${i + 1} crashed: ${e.payload.error.message}`)));
      c.on(c.events.GROUP_JOIN, (e) => {
        members[i] = new Set((e.payload.memberAssignment[topic] || []).map(Number));
        check();
      });
    });
    (async () => {
      for (const [i, c] of consumers.entries()) {
        await c.connect();
        await c.subscribe({ topic, fromBeginning: true });
        await c.run({
          eachMessage: async ({ partition, message }) => {
            got.push({ consumer: i + 1, partition, offset: Number(message.offset), value: message.value.toString() });
            check();
          },
        });
        if (i === 0) await joined;
      }
    })().catch(reject);
  }).finally(() => Promise.all(consumers.map((c) => c.disconnect())));
  got.sort((a, b) => a.partition - b.partition || a.offset - b.offset).forEach(out);
  out({ members: settled });
}

async function offsets(args) {
  const [topic, groupId] = args;
  const admin = kafka.admin();
  await admin.connect();
  try {
    const high = await admin.fetchTopicOffsets(topic);
    for (const p of high.sort((a, b) => a.partition - b.partition)) {
      out({ partition: p.partition, high: Number(p.high), low: Number(p.low) });
    }
    if (groupId) {
      const g = await admin.fetchOffsets({ groupId, topics: [topic] });
      out({
        group: g[0].partitions
          .map((p) => ({ partition: p.partition, offset: Number(p.offset) }))
          .sort((a, b) => a.partition - b.partition),
      });
    }
  } finally {
    await admin.disconnect();
  }
}

const commands = { produce, consume, fence, interleaved, 'timed-out': timedOut, group, offsets };
const [cmd, ...rest] = process.argv.slice(2);
if (!commands[cmd]) {
  process.stderr.write(`error: unknown command '${cmd}'; one of ${Object.keys(commands).join(', ')}\n`);
  process.exit(2);
}
commands[cmd](rest).then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`error: ${e.message}\n`);
    process.exit(1);
  }
);
