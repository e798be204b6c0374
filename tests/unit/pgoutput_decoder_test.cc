#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "pg/PgoutputDecoder.h"
#include "protocol_bytes.h"

namespace streamshop::pg {
namespace {

using testing_support::Bytes;

using Kind = TupleValue::Kind;

// ---- fixtures (laid out by protocol field, so formatting is manual) ----
// clang-format off
std::string BeginMsg() { return Bytes().U8('B').I64(0x16B3748).I64(761234567890123).I32(742); }
std::string CommitMsg() { return Bytes().U8('C').U8(0).I64(0x16B3748).I64(0x16B3778).I64(761234567890123); }
std::string OriginMsg() { return Bytes().U8('O').I64(0x0000000100000002).Str("node_a"); }
std::string RelationMsg() {
  return Bytes()
      .U8('R').I32(16384).Str("public").Str("orders").U8('f').I16(3)
      .U8(1).Str("id").I32(20).I32(-1)
      .U8(0).Str("note").I32(25).I32(-1)
      .U8(0).Str("price").I32(1700).I32(655366);
}
std::string TypeMsg() { return Bytes().U8('Y').I32(90001).Str("public").Str("mood"); }
std::string InsertMsg() {
  return Bytes().U8('I').I32(16384).U8('N').I16(5).Text("42").U8('n').U8('u').Binary(std::string("\x00\x01\xff", 3))
      .Text("");
}
std::string UpdateNoOldMsg() { return Bytes().U8('U').I32(16384).U8('N').I16(2).Text("1").Text("new"); }
std::string UpdateKeyMsg() {
  return Bytes().U8('U').I32(16384).U8('K').I16(2).Text("1").U8('n').U8('N').I16(2).Text("2").Text("x");
}
std::string UpdateOldMsg() {
  return Bytes().U8('U').I32(16384).U8('O').I16(2).Text("1").Text("old").U8('N').I16(2).Text("1").U8('u');
}
std::string DeleteKeyMsg() { return Bytes().U8('D').I32(16384).U8('K').I16(2).Text("7").U8('n'); }
std::string DeleteOldMsg() { return Bytes().U8('D').I32(16385).U8('O').I16(1).Binary("\x01\x02"); }
std::string TruncateMsg() {
  return Bytes().U8('T').I32(2).U8(TruncateMessage::kCascade | TruncateMessage::kRestartIdentity).I32(16384)
      .I32(16390);
}
std::string MessageMsg(uint8_t flags) {
  return Bytes().U8('M').U8(flags).I64(0x16B3800).Str("outbox").I32(5).Raw(std::string("a\0b\nc", 5));
}
std::string XLogDataMsg() { return Bytes().U8('w').I64(0x100).I64(0x200).I64(12345).Raw(BeginMsg()); }
std::string KeepaliveMsg(uint8_t reply) { return Bytes().U8('k').I64(0x300).I64(67890).U8(reply); }
// clang-format on

std::vector<std::string> PgoutputFixtures() {
  return {BeginMsg(),     CommitMsg(),      OriginMsg(),    RelationMsg(),  TypeMsg(),
          InsertMsg(),    UpdateNoOldMsg(), UpdateKeyMsg(), UpdateOldMsg(), DeleteKeyMsg(),
          DeleteOldMsg(), TruncateMsg(),    MessageMsg(0),  MessageMsg(1)};
}
std::vector<std::string> CopyDataFixtures() { return {XLogDataMsg(), KeepaliveMsg(0), KeepaliveMsg(1)}; }

// Decodes `bytes` as pgoutput and returns the M alternative (views point into `bytes`).
template <typename M>
M Decode(const std::string& bytes) {
  auto r = DecodePgoutput(bytes);
  if (!r.ok()) {
    ADD_FAILURE() << r.status().message();
    return M{};
  }
  const M* m = std::get_if<M>(&r.value());
  if (m == nullptr) {
    ADD_FAILURE() << "decoded to variant index " << r.value().index();
    return M{};
  }
  return *m;
}

void ExpectValue(const TupleValue& v, Kind kind, std::string_view data = {}) {
  EXPECT_EQ(v.kind, kind);
  EXPECT_EQ(v.data, data);
}

// True if `inner` lies inside `outer` (an empty view is trivially fine).
bool Within(std::string_view outer, std::string_view inner) {
  if (inner.empty()) return true;
  std::less_equal<const char*> le;
  return le(outer.data(), inner.data()) && le(inner.data() + inner.size(), outer.data() + outer.size());
}

// Decodes arbitrary bytes with both entry points; a success must only reference bytes of the input.
void DecodeAnything(const std::string& bytes) {
  auto p = DecodePgoutput(bytes);
  if (p.ok()) {
    auto tuple_ok = [&](const Tuple& t) {
      for (const TupleValue& v : t) {
        EXPECT_TRUE(Within(bytes, v.data));
        if (v.kind == Kind::kNull || v.kind == Kind::kUnchangedToast) {
          EXPECT_TRUE(v.data.empty());
        }
      }
    };
    if (auto* m = std::get_if<InsertMessage>(&p.value())) tuple_ok(m->new_tuple);
    if (auto* m = std::get_if<UpdateMessage>(&p.value())) {
      tuple_ok(m->old_tuple);
      tuple_ok(m->new_tuple);
      if (m->old_kind == 0) {
        EXPECT_TRUE(m->old_tuple.empty());
      }
    }
    if (auto* m = std::get_if<DeleteMessage>(&p.value())) tuple_ok(m->old_tuple);
    if (auto* m = std::get_if<LogicalMessage>(&p.value())) {
      EXPECT_TRUE(Within(bytes, m->content));
    }
  } else {
    EXPECT_TRUE(p.status().fatal());
    EXPECT_NE(p.status().message().find("byte offset"), std::string::npos) << p.status().message();
  }
  auto c = DecodeCopyData(bytes);
  if (c.ok()) {
    if (auto* x = std::get_if<XLogData>(&c.value())) {
      EXPECT_TRUE(Within(bytes, x->payload));
    }
  } else {
    EXPECT_TRUE(c.status().fatal());
    EXPECT_NE(c.status().message().find("byte offset"), std::string::npos) << c.status().message();
  }
}

// Expects a Fatal error whose message contains every one of `parts`.
template <typename R>
void ExpectFatal(const R& r, std::initializer_list<std::string_view> parts) {
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().fatal());
  for (std::string_view part : parts) {
    EXPECT_NE(r.status().message().find(part), std::string::npos)
        << "'" << part << "' not in: " << r.status().message();
  }
}

// ---- well-formed messages ----

TEST(PgoutputDecoderTest, Begin) {
  const std::string bytes = BeginMsg();
  BeginMessage m = Decode<BeginMessage>(bytes);
  EXPECT_EQ(m.final_lsn, Lsn(0x16B3748));
  EXPECT_EQ(m.commit_time, 761234567890123);
  EXPECT_EQ(m.xid, Xid{742});
}

TEST(PgoutputDecoderTest, Commit) {
  const std::string bytes = CommitMsg();
  CommitMessage m = Decode<CommitMessage>(bytes);
  EXPECT_EQ(m.flags, 0);
  EXPECT_EQ(m.commit_lsn, Lsn(0x16B3748));
  EXPECT_EQ(m.end_lsn, Lsn(0x16B3778));
  EXPECT_EQ(m.commit_time, 761234567890123);
}

TEST(PgoutputDecoderTest, Origin) {
  const std::string bytes = OriginMsg();
  OriginMessage m = Decode<OriginMessage>(bytes);
  EXPECT_EQ(m.commit_lsn.ToString(), "1/2");
  EXPECT_EQ(m.name, "node_a");
}

TEST(PgoutputDecoderTest, Relation) {
  const std::string bytes = RelationMsg();
  RelationMessage m = Decode<RelationMessage>(bytes);
  EXPECT_EQ(m.relid, 16384u);
  EXPECT_EQ(m.nspname, "public");
  EXPECT_EQ(m.relname, "orders");
  EXPECT_EQ(m.replica_identity, 'f');
  ASSERT_EQ(m.columns.size(), 3u);
  EXPECT_TRUE(m.columns[0].is_key);
  EXPECT_EQ(m.columns[0].name, "id");
  EXPECT_EQ(m.columns[0].type_oid, 20u);
  EXPECT_EQ(m.columns[0].typmod, -1);
  EXPECT_FALSE(m.columns[1].is_key);
  EXPECT_EQ(m.columns[1].name, "note");
  EXPECT_EQ(m.columns[1].type_oid, 25u);
  EXPECT_EQ(m.columns[2].name, "price");
  EXPECT_EQ(m.columns[2].type_oid, 1700u);
  EXPECT_EQ(m.columns[2].typmod, 655366);
}

TEST(PgoutputDecoderTest, RelationWithNoColumnsAndEveryReplicaIdentity) {
  for (char ident : std::string("dnfi")) {
    const std::string bytes = Bytes().U8('R').I32(-2).Str("").Str("t").U8(ident).I16(0);
    RelationMessage m = Decode<RelationMessage>(bytes);
    EXPECT_EQ(m.relid, 0xFFFFFFFEu);  // OIDs are unsigned: the full 32-bit range is valid
    EXPECT_EQ(m.nspname, "");
    EXPECT_EQ(m.replica_identity, ident);
    EXPECT_TRUE(m.columns.empty());
  }
}

TEST(PgoutputDecoderTest, Type) {
  const std::string bytes = TypeMsg();
  TypeMessage m = Decode<TypeMessage>(bytes);
  EXPECT_EQ(m.oid, 90001u);
  EXPECT_EQ(m.nspname, "public");
  EXPECT_EQ(m.name, "mood");
}

TEST(PgoutputDecoderTest, InsertWithNullToastTextAndBinaryValues) {
  const std::string bytes = InsertMsg();
  InsertMessage m = Decode<InsertMessage>(bytes);
  EXPECT_EQ(m.relid, 16384u);
  ASSERT_EQ(m.new_tuple.size(), 5u);
  ExpectValue(m.new_tuple[0], Kind::kText, "42");
  ExpectValue(m.new_tuple[1], Kind::kNull);
  ExpectValue(m.new_tuple[2], Kind::kUnchangedToast);
  ExpectValue(m.new_tuple[3], Kind::kBinary, std::string_view("\x00\x01\xff", 3));
  ExpectValue(m.new_tuple[4], Kind::kText, "");
  EXPECT_TRUE(Within(bytes, m.new_tuple[0].data));  // views into the input, not copies
}

TEST(PgoutputDecoderTest, InsertWithZeroColumns) {
  const std::string bytes = Bytes().U8('I').I32(1).U8('N').I16(0);
  EXPECT_TRUE(Decode<InsertMessage>(bytes).new_tuple.empty());
}

TEST(PgoutputDecoderTest, UpdateWithoutOldTuple) {
  const std::string bytes = UpdateNoOldMsg();
  UpdateMessage m = Decode<UpdateMessage>(bytes);
  EXPECT_EQ(m.relid, 16384u);
  EXPECT_EQ(m.old_kind, 0);
  EXPECT_TRUE(m.old_tuple.empty());
  ASSERT_EQ(m.new_tuple.size(), 2u);
  ExpectValue(m.new_tuple[0], Kind::kText, "1");
  ExpectValue(m.new_tuple[1], Kind::kText, "new");
}

TEST(PgoutputDecoderTest, UpdateWithOldKey) {
  const std::string bytes = UpdateKeyMsg();
  UpdateMessage m = Decode<UpdateMessage>(bytes);
  EXPECT_EQ(m.old_kind, 'K');
  ASSERT_EQ(m.old_tuple.size(), 2u);
  ExpectValue(m.old_tuple[0], Kind::kText, "1");
  ExpectValue(m.old_tuple[1], Kind::kNull);
  ASSERT_EQ(m.new_tuple.size(), 2u);
  ExpectValue(m.new_tuple[0], Kind::kText, "2");
  ExpectValue(m.new_tuple[1], Kind::kText, "x");
}

TEST(PgoutputDecoderTest, UpdateWithOldFullRow) {
  const std::string bytes = UpdateOldMsg();
  UpdateMessage m = Decode<UpdateMessage>(bytes);
  EXPECT_EQ(m.old_kind, 'O');
  ASSERT_EQ(m.old_tuple.size(), 2u);
  ExpectValue(m.old_tuple[1], Kind::kText, "old");
  ASSERT_EQ(m.new_tuple.size(), 2u);
  ExpectValue(m.new_tuple[0], Kind::kText, "1");
  ExpectValue(m.new_tuple[1], Kind::kUnchangedToast);
}

TEST(PgoutputDecoderTest, DeleteWithOldKey) {
  const std::string bytes = DeleteKeyMsg();
  DeleteMessage m = Decode<DeleteMessage>(bytes);
  EXPECT_EQ(m.relid, 16384u);
  EXPECT_EQ(m.old_kind, 'K');
  ASSERT_EQ(m.old_tuple.size(), 2u);
  ExpectValue(m.old_tuple[0], Kind::kText, "7");
  ExpectValue(m.old_tuple[1], Kind::kNull);
}

TEST(PgoutputDecoderTest, DeleteWithOldFullRow) {
  const std::string bytes = DeleteOldMsg();
  DeleteMessage m = Decode<DeleteMessage>(bytes);
  EXPECT_EQ(m.relid, 16385u);
  EXPECT_EQ(m.old_kind, 'O');
  ASSERT_EQ(m.old_tuple.size(), 1u);
  ExpectValue(m.old_tuple[0], Kind::kBinary, "\x01\x02");
}

TEST(PgoutputDecoderTest, TruncateWithCascadeAndRestartIdentity) {
  const std::string bytes = TruncateMsg();
  TruncateMessage m = Decode<TruncateMessage>(bytes);
  EXPECT_EQ(m.options, TruncateMessage::kCascade | TruncateMessage::kRestartIdentity);
  EXPECT_EQ(m.relids, (std::vector<uint32_t>{16384, 16390}));
}

TEST(PgoutputDecoderTest, TruncateCascadeOnly) {
  const std::string bytes = Bytes().U8('T').I32(1).U8(TruncateMessage::kCascade).I32(77);
  TruncateMessage m = Decode<TruncateMessage>(bytes);
  EXPECT_TRUE(m.options & TruncateMessage::kCascade);
  EXPECT_FALSE(m.options & TruncateMessage::kRestartIdentity);
  EXPECT_EQ(m.relids, (std::vector<uint32_t>{77}));
}

TEST(PgoutputDecoderTest, LogicalMessageTransactionalFlag) {
  const std::string tx = MessageMsg(1);
  LogicalMessage m = Decode<LogicalMessage>(tx);
  EXPECT_TRUE(m.transactional);
  EXPECT_EQ(m.lsn, Lsn(0x16B3800));
  EXPECT_EQ(m.prefix, "outbox");
  EXPECT_EQ(m.content, std::string_view("a\0b\nc", 5));  // content may hold NULs
  EXPECT_TRUE(Within(tx, m.content));

  const std::string non_tx = MessageMsg(0);
  EXPECT_FALSE(Decode<LogicalMessage>(non_tx).transactional);
}

TEST(PgoutputDecoderTest, LogicalMessageWithEmptyContent) {
  const std::string bytes = Bytes().U8('M').U8(1).I64(5).Str("hb").I32(0);
  LogicalMessage m = Decode<LogicalMessage>(bytes);
  EXPECT_EQ(m.prefix, "hb");
  EXPECT_TRUE(m.content.empty());
}

// ---- CopyData framing ----

TEST(CopyDataTest, XLogDataCarriesPayloadView) {
  const std::string bytes = XLogDataMsg();
  auto r = DecodeCopyData(bytes);
  ASSERT_TRUE(r.ok()) << r.status().message();
  const XLogData* x = std::get_if<XLogData>(&r.value());
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(x->wal_start, Lsn(0x100));
  EXPECT_EQ(x->wal_end, Lsn(0x200));
  EXPECT_EQ(x->send_time, 12345);
  EXPECT_EQ(x->payload, BeginMsg());
  EXPECT_EQ(x->payload.data(), bytes.data() + 25);  // a view right after the 25-byte header
  EXPECT_EQ(Decode<BeginMessage>(std::string(x->payload)).xid, Xid{742});
}

TEST(CopyDataTest, XLogDataWithEmptyPayload) {
  const std::string bytes = Bytes().U8('w').I64(1).I64(2).I64(3);
  auto r = DecodeCopyData(bytes);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(std::get<XLogData>(r.value()).payload.empty());
}

TEST(CopyDataTest, Keepalive) {
  for (uint8_t reply : {0, 1}) {
    auto r = DecodeCopyData(KeepaliveMsg(reply));
    ASSERT_TRUE(r.ok()) << r.status().message();
    const Keepalive* k = std::get_if<Keepalive>(&r.value());
    ASSERT_NE(k, nullptr);
    EXPECT_EQ(k->wal_end, Lsn(0x300));
    EXPECT_EQ(k->send_time, 67890);
    EXPECT_EQ(k->reply_requested, reply == 1);
  }
}

TEST(CopyDataTest, StandbyStatusIsByteExact) {
  const std::string expected =
      Bytes().U8('r').I64(0x0102030405060708).I64(0x1112131415161718).I64(0x2122232425262728).I64(-2).U8(1);
  EXPECT_EQ(EncodeStandbyStatus(Lsn(0x0102030405060708), Lsn(0x1112131415161718), Lsn(0x2122232425262728), -2, true),
            expected);
  const std::string literal("r\0\0\0\0\0\0\0\x01\0\0\0\0\0\0\0\x02\0\0\0\0\0\0\0\x03\0\0\0\0\0\0\0\x04\0", 34);
  EXPECT_EQ(EncodeStandbyStatus(Lsn(1), Lsn(2), Lsn(3), 4, false), literal);
}

// ---- malformed input ----

TEST(PgoutputErrorTest, EveryPrefixOfAValidMessageIsFatal) {
  for (const std::string& full : PgoutputFixtures()) {
    ASSERT_TRUE(DecodePgoutput(full).ok()) << DecodePgoutput(full).status().message();
    for (size_t n = 0; n < full.size(); ++n) {
      auto r = DecodePgoutput(std::string_view(full).substr(0, n));
      ASSERT_FALSE(r.ok()) << "prefix " << n << " of '" << full[0] << "' decoded";
      EXPECT_TRUE(r.status().fatal());
      EXPECT_NE(r.status().message().find("byte offset"), std::string::npos) << r.status().message();
    }
  }
}

TEST(CopyDataErrorTest, EveryPrefixOfAValidFrameIsFatal) {
  for (const std::string& full : CopyDataFixtures()) {
    ASSERT_TRUE(DecodeCopyData(full).ok());
    // XLogData frames shorter than the 25-byte header are truncated; longer ones just carry a shorter payload.
    const size_t min_len = full[0] == 'w' ? 25 : full.size();
    for (size_t n = 0; n < min_len; ++n) {
      auto r = DecodeCopyData(std::string_view(full).substr(0, n));
      ASSERT_FALSE(r.ok()) << "prefix " << n << " of '" << full[0] << "' decoded";
      EXPECT_TRUE(r.status().fatal());
    }
  }
}

TEST(PgoutputErrorTest, TruncationNamesFieldAndOffset) {
  ExpectFatal(DecodePgoutput(BeginMsg().substr(0, 10)),
              {"Begin", "truncated commit timestamp", "need 8 bytes, 1 left", "byte offset 9"});
  ExpectFatal(DecodePgoutput(OriginMsg().substr(0, 12)), {"Origin", "unterminated origin name", "byte offset 9"});
  ExpectFatal(DecodePgoutput(""), {"truncated message type", "byte offset 0"});
  ExpectFatal(DecodeCopyData(""), {"truncated message type", "byte offset 0"});
  ExpectFatal(DecodeCopyData(KeepaliveMsg(0).substr(0, 17)), {"keepalive", "truncated replyRequested", "offset 17"});
}

TEST(PgoutputErrorTest, UnknownMessageTypeNamesTheByte) {
  ExpectFatal(DecodePgoutput(Bytes().U8('Z').I32(0)), {"unknown message type 'Z' (0x5a)", "byte offset 0"});
  ExpectFatal(DecodePgoutput(Bytes().U8(0x01)), {"unknown message type 0x01"});
  ExpectFatal(DecodePgoutput(Bytes().U8('w').I64(0)), {"unknown message type 'w'"});  // framing, not pgoutput
  ExpectFatal(DecodeCopyData(Bytes().U8('r').I64(0)), {"unknown message type 'r' (0x72)"});
  ExpectFatal(DecodeCopyData(BeginMsg()), {"unknown message type 'B'"});
}

TEST(PgoutputErrorTest, NegativeLengthsAndCounts) {
  // 'I' relid 'N' ncols=1 't' len=-1: the length field starts at byte 9.
  ExpectFatal(DecodePgoutput(Bytes().U8('I').I32(1).U8('N').I16(1).U8('t').I32(-1)),
              {"negative length -1 of text column value", "byte offset 9"});
  ExpectFatal(DecodePgoutput(Bytes().U8('I').I32(1).U8('N').I16(1).U8('b').I32(INT32_MIN)),
              {"negative length -2147483648 of binary column value"});
  ExpectFatal(DecodePgoutput(Bytes().U8('M').U8(0).I64(1).Str("p").I32(-5)),
              {"negative length -5 of message content", "byte offset 12"});
  ExpectFatal(DecodePgoutput(Bytes().U8('I').I32(1).U8('N').I16(-1)), {"negative tuple column count -1", "offset 6"});
  ExpectFatal(DecodePgoutput(Bytes().U8('R').I32(1).Str("s").Str("t").U8('d').I16(-3)), {"negative column count -3"});
  ExpectFatal(DecodePgoutput(Bytes().U8('T').I32(-1).U8(0)), {"negative relation count -1", "byte offset 1"});
}

TEST(PgoutputErrorTest, HugeClaimedCountsFailCleanly) {
  ExpectFatal(DecodePgoutput(Bytes().U8('I').I32(1).U8('N').I16(INT16_MAX)), {"truncated tuple column kind"});
  ExpectFatal(DecodePgoutput(Bytes().U8('T').I32(INT32_MAX).U8(0).I32(1)), {"truncated relid", "byte offset 10"});
  ExpectFatal(DecodePgoutput(Bytes().U8('I').I32(1).U8('N').I16(1).U8('t').I32(INT32_MAX).Raw("abc")),
              {"truncated text column value", "need 2147483647 bytes, 3 left", "byte offset 13"});
}

TEST(PgoutputErrorTest, TrailingBytesAreFatal) {
  for (const std::string& full : PgoutputFixtures()) {
    ExpectFatal(DecodePgoutput(full + "x"), {"1 trailing bytes", "byte offset " + std::to_string(full.size())});
  }
  ExpectFatal(DecodeCopyData(KeepaliveMsg(1) + "zz"), {"2 trailing bytes", "byte offset 18"});
}

TEST(PgoutputErrorTest, BadMarkersAndKinds) {
  ExpectFatal(DecodePgoutput(Bytes().U8('I').I32(1).U8('K').I16(0)), {"new tuple marker is 'K'", "byte offset 5"});
  ExpectFatal(DecodePgoutput(Bytes().U8('D').I32(1).U8('N').I16(0)), {"old tuple marker is 'N'", "byte offset 5"});
  ExpectFatal(DecodePgoutput(Bytes().U8('U').I32(1).U8('X').I16(0)), {"tuple marker is 'X'"});
  // Old tuple must be followed by 'N', not a second old tuple.
  ExpectFatal(DecodePgoutput(Bytes().U8('U').I32(1).U8('K').I16(0).U8('O').I16(0)),
              {"new tuple marker is 'O'", "byte offset 8"});
  ExpectFatal(DecodePgoutput(Bytes().U8('U').I32(1).U8('K').I16(0)), {"truncated new tuple marker"});
  ExpectFatal(DecodePgoutput(Bytes().U8('I').I32(1).U8('N').I16(2).U8('n').U8('x')),
              {"unknown kind 'x' (0x78) of tuple column 1", "byte offset 9"});
  ExpectFatal(DecodePgoutput(Bytes().U8('R').I32(1).Str("s").Str("t").U8('z').I16(0)),
              {"replica identity is 'z'", "byte offset 9"});
}

TEST(PgoutputErrorTest, RandomGarbageNeverCrashes) {
  std::mt19937 rng(20240611);  // std::mt19937 output is fixed by the standard: the run is reproducible
  const std::string types = "BCORYIUDTMwkNKOntub";
  for (int i = 0; i < 20000; ++i) {
    std::string buf(rng() % 80, '\0');
    for (char& c : buf) c = static_cast<char>(rng());
    // Half the buffers start with a plausible type byte so the decoder gets past dispatch.
    if (!buf.empty() && rng() % 2 == 0) buf[0] = types[rng() % types.size()];
    // Bias some bytes towards small values so counts and lengths are sometimes in range.
    for (char& c : buf) {
      if (rng() % 3 == 0) c = static_cast<char>(rng() % 4);
    }
    DecodeAnything(buf);
  }
}

TEST(PgoutputErrorTest, EverySingleByteMutationOfValidMessages) {
  std::vector<std::string> fixtures = PgoutputFixtures();
  for (const std::string& f : CopyDataFixtures()) fixtures.push_back(f);
  for (const std::string& full : fixtures) {
    for (size_t pos = 0; pos < full.size(); ++pos) {
      for (int b = 0; b < 256; ++b) {
        std::string mutated = full;
        mutated[pos] = static_cast<char>(b);
        DecodeAnything(mutated);
      }
    }
  }
}

TEST(PgoutputErrorTest, RandomMultiByteMutationsAndSplices) {
  std::mt19937 rng(7);
  std::vector<std::string> fixtures = PgoutputFixtures();
  for (const std::string& f : CopyDataFixtures()) fixtures.push_back(f);
  for (int i = 0; i < 20000; ++i) {
    std::string buf = fixtures[rng() % fixtures.size()];
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !buf.empty(); ++e) {
      const size_t pos = rng() % buf.size();
      switch (rng() % 3) {
        case 0:
          buf[pos] = static_cast<char>(rng());
          break;
        case 1:
          buf.erase(pos, 1 + rng() % 4);
          break;
        default:
          buf.insert(pos, fixtures[rng() % fixtures.size()].substr(0, rng() % 8));
          break;
      }
    }
    DecodeAnything(buf);
  }
}

}  // namespace
}  // namespace streamshop::pg
