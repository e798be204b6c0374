// capture --exactly-once: the source position kept in the state topic, and the rule that skips what Kafka already
// holds. Pure functions over strings and LSNs; thread-safe.
//
// The position record: key debezium::CapturePositionKey(system id, database, slot), value "lsn=<X/Y>", the end
// LSN of the last PostgreSQL transaction whose records are in Kafka. It is written in the same Kafka transaction
// as those records, so a read_committed reader sees the records and the position together or neither.
//
// Skip rule: the slot replays every transaction whose commit record starts at or after its confirmed LSN, which may
// lag the position (the slot is confirmed only after the Kafka commit; a crash between the two leaves it behind).
// Transactions come in commit order, so a transaction already in Kafka ends at or before the position, and one
// not yet in Kafka has its commit record (BEGIN's final_lsn) at or after the position's end: a transaction is
// skipped exactly when final_lsn < position.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/Lsn.h"

namespace streamshop::pipeline {

std::string EncodeCapturePosition(Lsn position);
// nullopt for a value that is not "lsn=<X/Y>".
std::optional<Lsn> DecodeCapturePosition(std::string_view value);

// The position of `key` among state records read oldest first: the latest well-formed one (0/0 if none).
Lsn CommittedCapturePosition(const std::vector<std::pair<std::string, std::string>>& records, const std::string& key);

// Whether a transaction whose commit record starts at `final_lsn` (BEGIN's), or a non-transactional message at
// that LSN, is already in Kafka at committed position `position`.
inline bool AlreadyInKafka(Lsn final_lsn, Lsn position) { return final_lsn < position; }

}  // namespace streamshop::pipeline
