"""The workbook's look in one place: number formats, header and highlight styles, print setup.

Every money cell gets the same format, two decimals with thousands separators and credits in
red, so a credit balance stands out wherever it is; the two oldest aging buckets get a fill,
because that is where a collector looks first, and what needs a person now (a breached SLA, a
broken payment plan) gets Excel's red "bad" style.  Percentages are stored as fractions with a
percent format (Excel's own convention: 0.597827 shows as 59.8 %).
"""

from __future__ import annotations

from dataclasses import dataclass

MONEY = "#,##0.00;[Red]-#,##0.00"
DATE = "yyyy-mm-dd"
DAYS = "#,##0.0"
COUNT = "#,##0"
PERCENT = "0.0%"
PRIORITY = "0.00"

HEADER_FILL = "#1F3864"
#: the second-oldest and the oldest aging bucket
OLD_FILL = "#FCE4D6"
OLDEST_FILL = "#F8CBAD"
SUBTOTAL_FILL = "#D9E1F2"
#: what needs a person now (a breached SLA, a broken plan): Excel's own "bad" colours
ALERT_FILL = "#FFC7CE"
ALERT_FONT = "#9C0006"

#: Excel's paper code for A4; fit to one page wide makes the paper size secondary
A4 = 9


@dataclass
class Formats:
    """The xlsxwriter formats of one workbook (a format belongs to the workbook it was made in)."""

    header: object
    title: object
    bold: object
    text: object
    wrap: object
    date: object
    money: object
    money_old: object
    money_oldest: object
    money_bold: object
    money_alert: object
    alert: object
    days: object
    count: object
    percent: object
    priority: object
    link: object
    note: object
    na: object

    @classmethod
    def of(cls, workbook) -> Formats:
        add = workbook.add_format
        return cls(
            header=add(
                {
                    "bold": True,
                    "bg_color": HEADER_FILL,
                    "font_color": "#FFFFFF",
                    "border": 1,
                    "valign": "top",
                    "text_wrap": True,
                }
            ),
            title=add({"bold": True, "font_size": 14}),
            bold=add({"bold": True}),
            # the indent keeps a left-aligned text off the right-aligned number before it
            text=add({"valign": "top", "indent": 1}),
            wrap=add({"text_wrap": True, "valign": "top", "indent": 1}),
            date=add({"num_format": DATE, "valign": "top"}),
            money=add({"num_format": MONEY, "valign": "top"}),
            money_old=add({"num_format": MONEY, "bg_color": OLD_FILL, "valign": "top"}),
            money_oldest=add({"num_format": MONEY, "bg_color": OLDEST_FILL, "valign": "top"}),
            money_bold=add({"num_format": MONEY, "bold": True, "bg_color": SUBTOTAL_FILL}),
            money_alert=add({"num_format": MONEY, "bg_color": ALERT_FILL, "font_color": ALERT_FONT, "valign": "top"}),
            alert=add({"bg_color": ALERT_FILL, "font_color": ALERT_FONT, "bold": True, "valign": "top", "indent": 1}),
            days=add({"num_format": DAYS, "valign": "top"}),
            count=add({"num_format": COUNT, "valign": "top"}),
            percent=add({"num_format": PERCENT, "valign": "top"}),
            priority=add({"num_format": PRIORITY, "valign": "top"}),
            link=add({"font_color": "#0563C1", "underline": 1, "valign": "top", "indent": 1}),
            note=add({"italic": True, "font_color": "#595959"}),
            na=add({"italic": True, "font_color": "#595959", "align": "right"}),
        )


def print_setup(ws, header_row: int | None, title: str) -> None:
    """Landscape, one page wide (as many pages long as it takes), the header row repeated on
    every page, and the sheet's name and page number in the margins."""
    ws.set_landscape()
    ws.set_paper(A4)
    ws.fit_to_pages(1, 0)
    ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    if header_row is not None:
        ws.repeat_rows(header_row)
    ws.set_header(f"&L&B{_escape(title)}")
    ws.set_footer("&LPrinted &D&RPage &P of &N")


def _escape(text: str) -> str:
    # "&" starts a control code in a print header
    return text.replace("&", "&&")
