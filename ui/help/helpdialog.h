#pragma once

#include "help/helptext.h"

#include <QDialog>

class QTextBrowser;

namespace flowdeck {

//! The in-app help (F1): keyboard, states and their colours, the flow file format. Not modal.
class HelpDialog : public QDialog {
    Q_OBJECT

public:
    explicit HelpDialog(const QList<HelpShortcut>& shortcuts, QWidget* parent = nullptr);
    ~HelpDialog() override;

    QTextBrowser* browser() const { return m_browser; }
    //! The document as plain text (what a reader sees).
    QString plainText() const;

private:
    QTextBrowser* m_browser;
};

} // namespace flowdeck
