#include "flow/flowrandom.h"

namespace flowdeck {

namespace {

quint64 mix(quint64 x)
{
    // splitmix64 finaliser
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

quint64 fnv1a(const QString& text)
{
    quint64 h = 0xcbf29ce484222325ULL;
    for (QChar c : text) {
        h ^= c.unicode();
        h *= 0x100000001b3ULL;
    }
    return h;
}

} // namespace

double flowRandom(quint64 seed, const QString& taskId, int mapIndex, quint32 salt)
{
    quint64 x = mix(seed);
    x = mix(x ^ fnv1a(taskId));
    x = mix(x ^ static_cast<quint64>(static_cast<qint64>(mapIndex)));
    x = mix(x ^ salt);
    return static_cast<double>(x >> 11) * (1.0 / 9007199254740992.0);
}

} // namespace flowdeck
