#pragma once

#include <QString>

#include <cstdint>

namespace flowdeck {

//! A time-ordered (version 7) UUID, kept as two integers so that creating 100k of them is cheap.
struct RunId {
    std::uint64_t hi = 0;
    std::uint64_t lo = 0;

    //! A new id: creation time in milliseconds, then bits from a fast generator seeded from the
    //! system's entropy.
    static RunId generate();
    static RunId fromString(const QString& text, bool* ok = nullptr);
    //! Canonical lower-case form: 8-4-4-4-12 hex digits.
    QString toString() const;
    bool isNull() const { return hi == 0 && lo == 0; }
    bool operator==(const RunId&) const = default;
};

inline size_t qHash(const RunId& id, size_t seed = 0) noexcept
{
    return static_cast<size_t>(id.hi ^ (id.lo * 0x9e3779b97f4a7c15ULL)) ^ seed;
}

} // namespace flowdeck
