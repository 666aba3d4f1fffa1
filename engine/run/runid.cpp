#include "run/runid.h"

#include <QRandomGenerator>

#include <chrono>

namespace flowdeck {

namespace {

// xoshiro256** seeded from the system generator: a UUID needs uniqueness, not secrecy.
struct FastRandom {
    std::uint64_t s[4];
    FastRandom() { QRandomGenerator::system()->fillRange(s, 4); }
    static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    std::uint64_t next()
    {
        const std::uint64_t result = rotl(s[1] * 5, 7) * 9;
        const std::uint64_t t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = rotl(s[3], 45);
        return result;
    }
};

FastRandom& generator()
{
    thread_local FastRandom random;
    return random;
}

int hexValue(QChar c)
{
    const char16_t u = c.unicode();
    if (u >= u'0' && u <= u'9')
        return u - u'0';
    if (u >= u'a' && u <= u'f')
        return u - u'a' + 10;
    if (u >= u'A' && u <= u'F')
        return u - u'A' + 10;
    return -1;
}

} // namespace

RunId RunId::generate()
{
    // Version 7 (RFC 9562): a millisecond timestamp first, so ids sort by creation time and the
    // database's indexes grow at their end instead of at random places.
    thread_local std::uint64_t counter = generator().next();
    const auto ms = std::uint64_t(std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::system_clock::now().time_since_epoch())
                                      .count());
    RunId id;
    id.hi = (ms << 16) | 0x7000ULL | (++counter & 0x0FFFULL);
    id.lo = (generator().next() & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL; // RFC 4122 variant
    return id;
}

QString RunId::toString() const
{
    static constexpr char16_t digits[] = u"0123456789abcdef";
    QString out(36, Qt::Uninitialized);
    QChar* p = out.data();
    int pos = 0;
    auto put = [&](std::uint64_t v, int nibbles) {
        for (int i = nibbles - 1; i >= 0; --i) {
            if (pos == 8 || pos == 13 || pos == 18 || pos == 23)
                p[pos++] = u'-';
            p[pos++] = QChar(digits[(v >> (i * 4)) & 0xF]);
        }
    };
    put(hi, 16);
    put(lo, 16);
    return out;
}

RunId RunId::fromString(const QString& text, bool* ok)
{
    RunId id;
    int nibbles = 0;
    bool valid = text.size() == 36;
    for (int i = 0; valid && i < text.size(); ++i) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            valid = text.at(i) == u'-';
            continue;
        }
        const int v = hexValue(text.at(i));
        if (v < 0) {
            valid = false;
            break;
        }
        std::uint64_t& word = nibbles < 16 ? id.hi : id.lo;
        word = (word << 4) | static_cast<std::uint64_t>(v);
        ++nibbles;
    }
    valid = valid && nibbles == 32;
    if (ok)
        *ok = valid;
    return valid ? id : RunId{};
}

} // namespace flowdeck
