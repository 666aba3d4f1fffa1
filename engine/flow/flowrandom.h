#pragma once

#include <QString>

namespace flowdeck {

/**
 * A reproducible uniform draw in [0, 1) for one task run: the same (seed, task, map index, salt)
 * gives the same value in every process and in any order of execution, so a run can be replayed
 * and a benchmark can recompute a schedule from the same draws.
 */
double flowRandom(quint64 seed, const QString& taskId, int mapIndex, quint32 salt);

//! Salts of the built-in kinds' draws.
namespace salt {
inline constexpr quint32 Duration = 1; //!< sleep's [min, max] duration
inline constexpr quint32 Chance = 2;   //!< blocking / loop_block "chance"
} // namespace salt

} // namespace flowdeck
