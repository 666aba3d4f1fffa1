#pragma once

#include <QWidget>

namespace flowdeck {

/**
 * Tag concurrency limits. A placeholder until the limiter lands (issue 4): it will list one row per
 * tag (limit, active, waiting, usage bar), edit limits in place, and show the task runs holding
 * and waiting for a tag's slots. It shows no figures until then.
 */
class ConcurrencyPage : public QWidget {
    Q_OBJECT

public:
    explicit ConcurrencyPage(QWidget* parent = nullptr);
    ~ConcurrencyPage() override;
};

} // namespace flowdeck
