#include "schedule/cronexpression.h"

#include <QList>
#include <QStringList>

namespace flowdeck {

namespace {

struct FieldSpec {
    const char* name;
    int min;
    int max;
    const char* const* names; //!< names for min, min+1, ... (or null)
};

const char* const kMonthNames[]
    = {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};
const char* const kDayNames[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

const FieldSpec kFields[5] = {
    {"minute", 0, 59, nullptr},    {"hour", 0, 23, nullptr},         {"day of month", 1, 31, nullptr},
    {"month", 1, 12, kMonthNames}, {"day of week", 0, 7, kDayNames},
};

//! A word of the expression with its offset in the whole text.
struct Word {
    QString text;
    int position = 0;
};

QList<Word> words(const QString& text)
{
    QList<Word> out;
    int i = 0;
    while (i < text.size()) {
        while (i < text.size() && text.at(i).isSpace())
            ++i;
        const int start = i;
        while (i < text.size() && !text.at(i).isSpace())
            ++i;
        if (i > start)
            out.append({text.mid(start, i - start), start});
    }
    return out;
}

bool setError(ScheduleExprError* error, const QString& field, const QString& value, const QString& reason,
              int position)
{
    if (error)
        *error = {field, value, reason, position};
    return false;
}

//! A number or (for months and weekdays) a name; -1 when it is neither.
int valueOf(const QString& text, const FieldSpec& spec)
{
    bool ok = false;
    const int n = text.toInt(&ok);
    if (ok && !text.startsWith(u'+') && !text.startsWith(u'-'))
        return n;
    if (spec.names && text.size() == 3) {
        const int count = spec.max == 7 ? 7 : spec.max - spec.min + 1;
        for (int k = 0; k < count; ++k) {
            if (text.compare(QLatin1String(spec.names[k]), Qt::CaseInsensitive) == 0)
                return spec.min + k;
        }
    }
    return -1;
}

/**
 * One field into \a bits (indexed by value); \a star: it starts with "*". Items are separated by
 * commas: "*", "N", "N-M", each optionally followed by "/STEP"; "N/STEP" means N to the maximum.
 */
template<size_t Bits>
bool parseField(const Word& word, const FieldSpec& spec, std::bitset<Bits>& bits, bool* star,
                ScheduleExprError* error)
{
    const QString field = QLatin1String(spec.name);
    *star = word.text.startsWith(u'*');
    int offset = 0;
    for (const QString& item : word.text.split(u',')) {
        const int position = word.position + offset;
        offset += int(item.size()) + 1;
        if (item.isEmpty())
            return setError(error, field, word.text, QStringLiteral("has an empty list item"), position);
        QString range = item;
        int step = 1;
        if (const int slash = int(item.indexOf(u'/')); slash >= 0) {
            range = item.left(slash);
            bool ok = false;
            const QString stepText = item.mid(slash + 1);
            step = stepText.toInt(&ok);
            if (!ok || step <= 0 || stepText.startsWith(u'+'))
                return setError(error, field, item,
                                QStringLiteral("has a step that is not a positive number"), position);
            if (step > spec.max)
                return setError(error, field, item, QStringLiteral("has a step larger than %1").arg(spec.max),
                                position);
        }
        int low = spec.min;
        int high = spec.max == 7 ? 6 : spec.max;
        if (range == u"*") {
            // all values
        } else {
            const int dash = int(range.indexOf(u'-'));
            const QString lowText = dash >= 0 ? range.left(dash) : range;
            low = valueOf(lowText, spec);
            if (low < 0)
                return setError(error, field, item,
                                QStringLiteral("is not a number%1")
                                    .arg(spec.names ? QStringLiteral(" or a name") : QString()),
                                position);
            if (dash >= 0) {
                high = valueOf(range.mid(dash + 1), spec);
                if (high < 0)
                    return setError(error, field, item,
                                    QStringLiteral("has a range end that is not a number%1")
                                        .arg(spec.names ? QStringLiteral(" or a name") : QString()),
                                    position);
            } else if (item.contains(u'/')) {
                high = spec.max == 7 ? 6 : spec.max;
            } else {
                high = low;
            }
            for (int v : {low, high}) {
                if (v < spec.min || v > spec.max)
                    return setError(error, field, item,
                                    QStringLiteral("is out of range %1-%2").arg(spec.min).arg(spec.max),
                                    position);
            }
            if (high < low && !(spec.max == 7 && high == 0))
                return setError(error, field, item, QStringLiteral("is a range whose start is after its end"),
                                position);
            if (spec.max == 7 && high == 0 && low > 0)
                high = 7; // "5-0": Friday to Sunday
        }
        for (int v = low; v <= high; v += step)
            bits.set(size_t(spec.max == 7 ? v % 7 : v));
    }
    return true;
}

} // namespace

std::optional<CronExpression> CronExpression::parse(const QString& input, ScheduleExprError* error)
{
    QString text = input.trimmed();
    const int lead = int(input.indexOf(text.isEmpty() ? QString() : text.left(1)));
    if (text.startsWith(u'@')) {
        static const QList<std::pair<QString, QString>> nicknames = {
            {QStringLiteral("@hourly"), QStringLiteral("0 * * * *")},
            {QStringLiteral("@daily"), QStringLiteral("0 0 * * *")},
            {QStringLiteral("@midnight"), QStringLiteral("0 0 * * *")},
            {QStringLiteral("@weekly"), QStringLiteral("0 0 * * 0")},
            {QStringLiteral("@monthly"), QStringLiteral("0 0 1 * *")},
            {QStringLiteral("@yearly"), QStringLiteral("0 0 1 1 *")},
            {QStringLiteral("@annually"), QStringLiteral("0 0 1 1 *")},
        };
        for (const auto& [nick, expansion] : nicknames) {
            if (text.compare(nick, Qt::CaseInsensitive) == 0) {
                std::optional<CronExpression> cron = parse(expansion, error);
                cron->m_text = text;
                return cron;
            }
        }
        setError(error, QStringLiteral("expression"), text,
                 QStringLiteral("is not a nickname (@hourly, @daily, @weekly, @monthly, @yearly)"), lead);
        return std::nullopt;
    }
    const QList<Word> parts = words(input);
    if (parts.size() != 5) {
        setError(error, QStringLiteral("expression"), text,
                 QStringLiteral("has %1 fields, not 5 (minute hour day-of-month month day-of-week)")
                     .arg(parts.size()),
                 std::max(0, lead));
        return std::nullopt;
    }
    CronExpression cron;
    cron.m_text = text;
    bool star = false;
    if (!parseField(parts[0], kFields[0], cron.m_minutes, &star, error)
        || !parseField(parts[1], kFields[1], cron.m_hours, &star, error)
        || !parseField(parts[2], kFields[2], cron.m_daysOfMonth, &cron.m_domStar, error)
        || !parseField(parts[3], kFields[3], cron.m_months, &star, error)
        || !parseField(parts[4], kFields[4], cron.m_daysOfWeek, &cron.m_dowStar, error))
        return std::nullopt;
    return cron;
}

bool CronExpression::matchesDate(QDate date) const
{
    if (!m_months[size_t(date.month())])
        return false;
    const bool dom = m_daysOfMonth[size_t(date.day())];
    const bool dow = m_daysOfWeek[size_t(date.dayOfWeek() % 7)];
    // Vixie cron: with both fields restricted, either may match; else both must (a "*" always does).
    if (!m_domStar && !m_dowStar)
        return dom || dow;
    return dom && dow;
}

int CronExpression::nextHour(int from) const
{
    for (int h = from; h < 24; ++h) {
        if (m_hours[size_t(h)])
            return h;
    }
    return -1;
}

int CronExpression::nextMinute(int from) const
{
    for (int m = from; m < 60; ++m) {
        if (m_minutes[size_t(m)])
            return m;
    }
    return -1;
}

} // namespace flowdeck
