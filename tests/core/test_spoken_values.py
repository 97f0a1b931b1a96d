"""ivr.core.spoken_values, driven by one table of what callers say and what it must read as.

Every row is (kind, what was said or typed, options, expected Reading). The reference instant is
fixed: Thursday 5 June 2025, 11:00 in New York (15:00 UTC); no row reads the wall clock.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from ivr.core.spoken_values import (
    GENERIC_SPEECH_MODELS,
    SPEECH_MODELS,
    AnswerKind,
    Bound,
    DatePurpose,
    DaySpan,
    GatherHints,
    Outcome,
    PartOfDay,
    Reading,
    SpokenTime,
    Why,
    day_mentions,
    gather_hints,
    holiday,
    parse_date,
    parse_day,
    parse_days,
    parse_digits,
    parse_first_name,
    parse_keyed_date,
    parse_phone,
    parse_time,
    parse_yes_no,
    says_own_number,
    spoken_pin,
    time_mentions,
)

TODAY = dt.date(2025, 6, 5)  # a Thursday
NY = ZoneInfo("America/New_York")
NOW = dt.datetime(2025, 6, 5, 15, 0, tzinfo=dt.UTC)  # 11:00 in New York
LATE = dt.datetime(2025, 6, 6, 2, 0, tzinfo=dt.UTC)  # 22:00 on the 5th in New York
SUNDAY = dt.datetime(2025, 6, 8, 15, 0, tzinfo=dt.UTC)
DEC_20 = dt.datetime(2025, 12, 20, 15, 0, tzinfo=dt.UTC)  # a Saturday, before Christmas

BIRTH, UPCOMING, ANY = DatePurpose.BIRTH, DatePurpose.UPCOMING, DatePurpose.ANY


def V(value) -> Reading:
    return Reading(Outcome.VALUE, value)


def A(why: Why, *candidates) -> Reading:
    return Reading(Outcome.AMBIGUOUS, None, tuple(candidates), why)


def N(why: Why) -> Reading:
    return Reading(Outcome.NOT_UNDERSTOOD, None, (), why)


def d(month: int, day: int, year: int = 2025) -> dt.date:
    return dt.date(year, month, day)


def t(hour: int, minute: int = 0, part: PartOfDay | None = None, bound: Bound = Bound.AT) -> SpokenTime:
    return SpokenTime(dt.time(hour, minute), part, bound)


def part(p: PartOfDay) -> SpokenTime:
    return SpokenTime(None, p)


def between(start: int, end: int) -> SpokenTime:
    return SpokenTime(dt.time(start), None, Bound.AT, dt.time(end))


def span(first: dt.date, last: dt.date | None = None, time: SpokenTime | None = None) -> DaySpan:
    return DaySpan(first, last or first, time)


APRIL_15 = dt.date(1985, 4, 15)

ROWS = [
    # ------------------------------------------------------------------ dates of birth, every form
    ("date", "4 15 1985", {"purpose": BIRTH}, V(APRIL_15)),
    ("date", "four fifteen nineteen eighty five", {"purpose": BIRTH}, V(APRIL_15)),
    ("date", "for fifteen nineteen eighty five", {"purpose": BIRTH}, V(APRIL_15)),  # issue 14
    ("date", "for fifteen eighty five", {"purpose": BIRTH}, V(APRIL_15)),
    # Review 14b finding 14: one whole date among the readings is taken; a homophone inside the year.
    ("date", "1/1/05", {"purpose": BIRTH}, V(dt.date(2005, 1, 1))),
    ("date", "one one oh five", {"purpose": BIRTH}, V(dt.date(2005, 1, 1))),
    ("date", "one two oh five", {"purpose": BIRTH}, V(dt.date(2005, 1, 2))),
    ("date", "April fifteen nineteen ate five", {"purpose": BIRTH}, V(APRIL_15)),
    ("date", "four fifteen nineteen eight five", {"purpose": BIRTH}, V(APRIL_15)),
    ("date", "April 15th, 1985", {"purpose": BIRTH}, V(APRIL_15)),
    ("date", "April 15th, 1985.", {"purpose": BIRTH}, V(APRIL_15)),
    ("date", "04/15/1985", {"purpose": BIRTH}, V(APRIL_15)),
    ("date", "4-15-1985", {"purpose": BIRTH}, V(APRIL_15)),
    ("date", "4.15.1985", {"purpose": BIRTH}, V(APRIL_15)),
    ("date", "the fifteenth of April eighty five", {"purpose": BIRTH}, V(APRIL_15)),
    ("date", "the fifteenth of April, 1985", {"purpose": BIRTH}, V(APRIL_15)),
    ("date", "15th April 1985", {"purpose": BIRTH}, V(APRIL_15)),
    ("date", "April the fifteenth, nineteen eighty-five", {"purpose": BIRTH}, V(APRIL_15)),
    ("date", "april fifteenth nineteen eighty five", {"purpose": BIRTH}, V(APRIL_15)),
    ("date", "oh four one five one nine eight five", {"purpose": BIRTH}, V(APRIL_15)),
    ("date", "zero four one five eight five", {"purpose": BIRTH}, V(APRIL_15)),
    ("date", "04151985", {"purpose": BIRTH}, V(APRIL_15)),
    ("date", "041585", {"purpose": BIRTH}, V(APRIL_15)),
    ("date", "415 1985", {"purpose": BIRTH}, V(APRIL_15)),  # the recogniser glued month and day
    ("date", "4151985", {"purpose": BIRTH}, V(APRIL_15)),  # 41/5 is no date: one reading left
    ("date", "my date of birth is four fifteen nineteen eighty five", {"purpose": BIRTH}, V(APRIL_15)),
    ("date", "um it's April fifteenth, nineteen eighty five, thank you", {"purpose": BIRTH}, V(APRIL_15)),
    ("date", "1985-04-15", {"purpose": BIRTH}, V(APRIL_15)),
    ("date", "nineteen eighty five April fifteenth", {"purpose": BIRTH}, V(APRIL_15)),
    ("date", "It's for April 15th 1985", {"purpose": BIRTH}, V(APRIL_15)),  # "for" next to a month stays a word
    ("date", "April twenty first nineteen eighty five", {"purpose": BIRTH}, V(d(4, 21, 1985))),
    ("date", "december thirty first nineteen ninety nine", {"purpose": BIRTH}, V(d(12, 31, 1999))),
    ("date", "march third twenty oh nine", {"purpose": BIRTH}, V(d(3, 3, 2009))),
    ("date", "march first nineteen oh five", {"purpose": BIRTH}, V(d(3, 1, 1905))),
    ("date", "january first two thousand", {"purpose": BIRTH}, V(d(1, 1, 2000))),
    ("date", "april fifteenth two thousand and three", {"purpose": BIRTH}, V(d(4, 15, 2003))),
    ("date", "may fifth twenty twenty", {"purpose": BIRTH}, V(d(5, 5, 2020))),
    ("date", "october tenth twenty ten", {"purpose": BIRTH}, V(d(10, 10, 2010))),
    ("date", "sept 3 1999", {"purpose": BIRTH}, V(d(9, 3, 1999))),
    ("date", "twelve twenty one twenty twenty", {"purpose": BIRTH}, V(d(12, 21, 2020))),
    # digit homophones, read as digits only next to another number
    ("date", "to fifteen ninety", {"purpose": BIRTH}, V(d(2, 15, 1990))),
    ("date", "ate twelve eighty", {"purpose": BIRTH}, V(d(8, 12, 1980))),
    ("date", "won twenty won nineteen ninety", {"purpose": BIRTH}, V(d(1, 21, 1990))),
    ("date", "tree four eighty", {"purpose": BIRTH}, V(d(3, 4, 1980))),
    ("date", "twelve too eighty", {"purpose": BIRTH}, V(d(12, 2, 1980))),
    ("date", "one twenty one ninety", {"purpose": BIRTH}, V(d(1, 21, 1990))),
    ("date", "eleven twelve ninety", {"purpose": BIRTH}, V(d(11, 12, 1990))),
    # two-digit birth years: an age from 0 to 110; both centuries fitting is ambiguous
    ("date", "4 15 85", {"purpose": BIRTH}, V(APRIL_15)),
    ("date", "4 15 05", {"purpose": BIRTH}, V(d(4, 15, 2005))),  # 1905 would be 120 years old
    # 1915-04-15 is an age of 110 on 2025-06-05, in the documented 0-110: both centuries fit (bt14-s25 nit 7)
    ("date", "4 15 15", {"purpose": BIRTH}, A(Why.TWO_DIGIT_YEAR, d(4, 15, 1915), d(4, 15, 2015))),
    ("date", "6 15 15", {"purpose": BIRTH}, A(Why.TWO_DIGIT_YEAR, d(6, 15, 1915), d(6, 15, 2015))),
    ("date", "4 15 25", {"purpose": BIRTH}, A(Why.TWO_DIGIT_YEAR, d(4, 15, 1925), d(4, 15, 2025))),
    ("date", "4 15 20", {"purpose": BIRTH}, A(Why.TWO_DIGIT_YEAR, d(4, 15, 1920), d(4, 15, 2020))),
    ("date", "12 25 24", {"purpose": BIRTH}, A(Why.TWO_DIGIT_YEAR, d(12, 25, 1924), d(12, 25, 2024))),
    # refused as ambiguous
    ("date", "4 5 6", {"purpose": BIRTH}, A(Why.TWO_DIGIT_YEAR)),  # "6" is no year
    ("date", "one one two eighty five", {"purpose": BIRTH}, A(Why.ORDER, d(1, 12, 1985), d(11, 2, 1985))),
    ("date", "11285", {"purpose": BIRTH}, A(Why.ORDER, d(1, 12, 1985), d(11, 2, 1985))),
    ("date", "121985", {"purpose": BIRTH}, A(Why.ORDER, d(1, 2, 1985), d(12, 19, 1985))),
    ("date", "1121985", {"purpose": BIRTH}, A(Why.ORDER, d(1, 12, 1985), d(11, 2, 1985))),
    ("date", "April 15th", {"purpose": BIRTH}, A(Why.NO_YEAR)),
    ("date", "for fifteen", {"purpose": BIRTH}, A(Why.NO_YEAR)),
    ("date", "4 15", {"purpose": BIRTH}, A(Why.NO_YEAR)),
    # fix14-s7: a date said in part names what is missing
    ("date", "April 1985", {"purpose": BIRTH}, A(Why.NO_DAY)),
    ("date", "april of 1985", {"purpose": BIRTH}, A(Why.NO_DAY)),
    ("date", "born in 1985", {"purpose": BIRTH}, A(Why.NO_MONTH)),
    ("date", "two thousand and three", {"purpose": BIRTH}, A(Why.NO_MONTH)),
    ("date", "in April", {"purpose": BIRTH}, A(Why.NO_DAY_OR_YEAR)),
    ("date", "may I speak to someone", {"purpose": BIRTH}, N(Why.NOT_A_VALUE)),  # "may" is no month here
    ("date", "85", {"purpose": BIRTH}, N(Why.NOT_A_VALUE)),
    ("date", "April 15 1985, no sorry, April 16 1985", {"purpose": BIRTH},
     A(Why.SEVERAL, APRIL_15, d(4, 16, 1985))),
    ("date", "April 15th 1985, that's April 15th 1985", {"purpose": BIRTH}, V(APRIL_15)),  # said twice, same
    # Review 14c finding 1: left-over words or digit groups that do not divide cleanly are asked again, never
    # read as another date; homophones said twice ("won won") are both digits, also before "oh".
    ("date", "won won oh three nineteen ninety two", {"purpose": BIRTH}, V(d(11, 3, 1992))),
    ("date", "won too oh three nineteen ninety two", {"purpose": BIRTH}, V(d(12, 3, 1992))),
    ("date", "ate ate nineteen ninety", {"purpose": BIRTH}, V(d(8, 8, 1990))),
    ("date", "for for nineteen eighty", {"purpose": BIRTH}, V(d(4, 4, 1980))),
    ("date", "one one oh three nineteen ninety two", {"purpose": BIRTH}, V(d(11, 3, 1992))),
    ("date", "oh three nineteen ninety two", {"purpose": BIRTH}, A(Why.ORDER, d(3, 19, 1992))),  # month lost?
    ("date", "oh three twenty twenty two", {"purpose": BIRTH}, A(Why.ORDER, d(3, 20, 1922), d(3, 20, 2022))),
    # bt14-s25b S2: "<month> twenty <tens>" as a date of birth: "twenty eighty" is no year of birth (2085 is to come),
    # so the 20th is the reading, taken, never AMBIGUOUS with one candidate; "eighty" is no garbled "eight"
    ("date", "four twenty eighty five", {"purpose": BIRTH}, V(d(4, 20, 1985))),
    ("date", "four twenty, eighty", {"purpose": BIRTH}, V(d(4, 20, 1980))),
    ("date", "eleven twenty eighty", {"purpose": BIRTH}, V(d(11, 20, 1980))),
    ("date", "one twenty eighty", {"purpose": BIRTH}, V(d(1, 20, 1980))),
    ("date", "eleven twenty sixty", {"purpose": BIRTH}, V(d(11, 20, 1960))),
    ("date", "twelve twenty sixty", {"purpose": BIRTH}, V(d(12, 20, 1960))),
    ("date", "ten twenty sixty", {"purpose": BIRTH}, V(d(10, 20, 1960))),
    ("date", "one twenty sixty", {"purpose": BIRTH}, V(d(1, 20, 1960))),
    ("date", "six twenty seventy", {"purpose": BIRTH}, V(d(6, 20, 1970))),
    ("date", "four twenty ninety", {"purpose": BIRTH}, V(d(4, 20, 1990))),
    ("date", "three twenty fifty", {"purpose": BIRTH}, V(d(3, 20, 1950))),
    ("date", "nine twenty ninety nine", {"purpose": BIRTH}, V(d(9, 20, 1999))),
    ("date", "eleven twenty sixty one", {"purpose": BIRTH}, V(d(11, 20, 1961))),
    ("date", "april twenty eighty", {"purpose": BIRTH}, V(d(4, 20, 1980))),
    ("date", "for twenty eighty five", {"purpose": BIRTH}, V(d(4, 20, 1985))),
    ("date", "four twenty eighty", {"purpose": BIRTH}, V(d(4, 20, 1980))),
    ("date", "seven twenty forty five", {"purpose": BIRTH}, V(d(7, 20, 1945))),
    ("date", "april twentieth eighty five", {"purpose": BIRTH}, V(d(4, 20, 1985))),
    # a year that can still be one of birth (2020, 2010) keeps the doubt: asked, the month by name
    ("date", "eleven twenty twenty", {"purpose": BIRTH}, A(Why.ORDER, d(11, 20, 1920), d(11, 20, 2020))),
    ("date", "five twenty ten", {"purpose": BIRTH}, A(Why.ORDER, d(5, 20, 2010))),
    # fix14-nits6: "twenty oh five" is also a year (May 2005, the day lost): one whole date, which the engine reads back
    # for a yes; as ANY the two-digit year itself is the doubt (both centuries fit), asked for in full
    ("date", "five twenty oh five", {"purpose": BIRTH}, A(Why.ORDER, d(5, 20, 2005))),
    ("date", "five twenty oh five", {}, A(Why.TWO_DIGIT_YEAR)),
    ("date", "5 20 05", {"purpose": BIRTH}, V(d(5, 20, 2005))),  # numerals written apart: no doubt
    ("date", "five twenty twenty oh five", {"purpose": BIRTH}, V(d(5, 20, 2005))),
    ("date", "five twenty nineteen", {"purpose": BIRTH}, A(Why.ORDER, d(5, 20, 1919), d(5, 20, 2019))),
    ("date", "3 19 92", {"purpose": BIRTH}, V(d(3, 19, 1992))),  # numerals are written apart: no doubt
    ("date", "march nineteenth ninety two", {"purpose": BIRTH}, V(d(3, 19, 1992))),
    ("date", "three nineteen nineteen ninety two", {"purpose": BIRTH}, V(d(3, 19, 1992))),
    ("date", "four fifteen nineteen eighty fife", {"purpose": BIRTH}, N(Why.NOT_A_VALUE)),  # not 1980
    ("date", "April fifteen nineteen ninety fiev", {"purpose": BIRTH}, N(Why.NOT_A_VALUE)),
    ("date", "four fifteen nineteen eighty, right", {"purpose": BIRTH}, V(d(4, 15, 1980))),
    # Review 14c finding 2: the same date twice, a trailing "for"/"to", "forth", the word "year".
    ("date", "April 15 1985, April 15 1985", {"purpose": BIRTH}, V(APRIL_15)),
    ("date", "4 15 1985 4 15 1985", {"purpose": BIRTH}, V(APRIL_15)),
    ("date", "four fifteen nineteen eighty five, four fifteen nineteen eighty five", {"purpose": BIRTH},
     V(APRIL_15)),
    ("date", "4 15 1985 4 16 1985", {"purpose": BIRTH}, A(Why.SEVERAL, APRIL_15, d(4, 16, 1985))),
    ("date", "April 15 1985 April 16 1985", {"purpose": BIRTH}, A(Why.SEVERAL, APRIL_15, d(4, 16, 1985))),
    ("date", "April 15 1985 for Alex", {"purpose": BIRTH}, V(APRIL_15)),
    ("date", "April 15th 1985 to confirm", {"purpose": BIRTH}, V(APRIL_15)),
    ("date", "March forth nineteen ninety", {"purpose": BIRTH}, V(d(3, 4, 1990))),
    ("date", "the forth of March nineteen ninety", {"purpose": BIRTH}, V(d(3, 4, 1990))),
    ("date", "April fifteen, year nineteen eighty five", {"purpose": BIRTH}, V(APRIL_15)),
    ("date", "April fifteen in the year nineteen eighty five", {"purpose": BIRTH}, V(APRIL_15)),
    ("date", "my birthday is 4 15 and the year is 1985", {"purpose": BIRTH}, V(APRIL_15)),
    # not understood
    ("date", "April 31st 1985", {"purpose": BIRTH}, N(Why.NO_SUCH_DATE)),
    ("date", "February 29th 2023", {"purpose": BIRTH}, N(Why.NO_SUCH_DATE)),
    ("date", "2 30 2020", {"purpose": BIRTH}, N(Why.NO_SUCH_DATE)),
    ("date", "13 15 1985", {"purpose": BIRTH}, N(Why.NOT_A_VALUE)),
    ("date", "15 4 1985", {"purpose": BIRTH}, V(APRIL_15)),  # day first only where 15 cannot be a month
    ("date", "4 15 2030", {"purpose": BIRTH}, N(Why.OUT_OF_RANGE)),  # a birth date in the future
    ("date", "April 15th 1885", {"purpose": BIRTH}, N(Why.OUT_OF_RANGE)),
    ("date", "", {"purpose": BIRTH}, N(Why.NOTHING_SAID)),
    ("date", "I don't know", {"purpose": BIRTH}, N(Why.NOT_A_VALUE)),
    ("date", "smarch 15 1985", {"purpose": BIRTH}, N(Why.NOT_A_VALUE)),
    ("date", "nineteen eighty five", {"purpose": BIRTH}, A(Why.NO_MONTH)),  # fix14-s7: was NOT_A_VALUE
    ("date", "1985", {"purpose": BIRTH}, A(Why.NO_MONTH)),  # fix14-s7: was NOT_A_VALUE
    # bt14 s24 nit 7: talk around a date; a homophone at one edge is a word, at the other a digit
    ("date", "it's for fifteen nineteen eighty five for my son", {"purpose": BIRTH}, V(APRIL_15)),
    ("date", "for fifteen nineteen eighty five for my son", {"purpose": BIRTH}, V(APRIL_15)),
    ("date", "it's for fifteen eighty five for my daughter", {"purpose": BIRTH}, V(APRIL_15)),
    ("date", "for my son it's for fifteen nineteen eighty five", {"purpose": BIRTH}, V(APRIL_15)),
    ("date", "to fifteen nineteen eighty five to be exact", {"purpose": BIRTH}, V(d(2, 15, 1985))),
    # year first
    ("date", "1985 april 15", {"purpose": BIRTH}, V(APRIL_15)),
    ("date", "nineteen eighty five april fifteenth", {"purpose": BIRTH}, V(APRIL_15)),
    ("date", "85 april 15", {"purpose": BIRTH}, V(APRIL_15)),
    ("date", "eighty five april fifteen", {"purpose": BIRTH}, V(APRIL_15)),
    ("date", "1985 april", {"purpose": BIRTH}, A(Why.NO_DAY)),
    ("date", "nineteen eighty five april", {"purpose": BIRTH}, A(Why.NO_DAY)),
    # spelled months
    ("date", "A P R I L 15 1985", {"purpose": BIRTH}, V(APRIL_15)),
    ("date", "a p r 15 1985", {"purpose": BIRTH}, V(APRIL_15)),
    ("date", "J U N E 5 1990", {"purpose": BIRTH}, V(d(6, 5, 1990))),
    ("date", "A B C 15 1985", {"purpose": BIRTH}, N(Why.NOT_A_VALUE)),
    # holidays on a fixed date are read; one that moves with the year is asked again (not "the month is missing")
    ("date", "christmas 1985", {"purpose": BIRTH}, V(d(12, 25, 1985))),
    ("date", "christmas day 1985", {"purpose": BIRTH}, V(d(12, 25, 1985))),
    ("date", "christmas eve 1985", {"purpose": BIRTH}, V(d(12, 24, 1985))),
    ("date", "new year's day 1990", {"purpose": BIRTH}, V(d(1, 1, 1990))),
    ("date", "new year's eve 1990", {"purpose": BIRTH}, V(d(12, 31, 1990))),
    ("date", "april fool's day 1985", {"purpose": BIRTH}, V(d(4, 1, 1985))),
    ("date", "valentine's day 1985", {"purpose": BIRTH}, V(d(2, 14, 1985))),
    ("date", "halloween eighty five", {"purpose": BIRTH}, V(d(10, 31, 1985))),
    ("date", "the fourth of july 1985", {"purpose": BIRTH}, V(d(7, 4, 1985))),
    ("date", "independence day 1985", {"purpose": BIRTH}, V(d(7, 4, 1985))),
    ("date", "christmas", {"purpose": BIRTH}, A(Why.NO_YEAR)),
    ("date", "thanksgiving 1985", {"purpose": BIRTH}, A(Why.VAGUE)),
    ("date", "easter 1990", {"purpose": BIRTH}, A(Why.VAGUE)),
    ("date", "mother's day 1985", {"purpose": BIRTH}, A(Why.VAGUE)),
    ("date", "4 slash 15 slash 1985", {"purpose": BIRTH}, V(APRIL_15)),
    ("date", "zero four fifteen eighty five", {"purpose": BIRTH}, V(APRIL_15)),
    ("date", "for twenty for nineteen eighty for", {"purpose": BIRTH}, V(d(4, 24, 1984))),
    ("date", "jan 1st 00", {"purpose": BIRTH}, V(d(1, 1, 2000))),
    ("date", "my birthday is April 15th and my husband's is May 3rd", {"purpose": BIRTH}, A(Why.SEVERAL)),
    # upcoming dates (an appointment): a missing year is the next such day; "05" fits no window
    ("date", "June 12th", {"purpose": UPCOMING}, V(d(6, 12))),
    ("date", "June 5th", {"purpose": UPCOMING}, V(d(6, 5))),  # today
    ("date", "June 4th", {"purpose": UPCOMING}, V(d(6, 4, 2026))),
    ("date", "April 15th", {"purpose": UPCOMING}, V(d(4, 15, 2026))),
    ("date", "12 25 25", {"purpose": UPCOMING}, V(d(12, 25))),
    ("date", "1 5 26", {"purpose": UPCOMING}, V(d(1, 5, 2026))),
    ("date", "4 15 05", {"purpose": UPCOMING}, A(Why.TWO_DIGIT_YEAR)),  # ask for the full year
    ("date", "February 29th", {"purpose": UPCOMING}, N(Why.OUT_OF_RANGE)),  # next one is 2028
    ("date", "June 12th 2024", {"purpose": UPCOMING}, N(Why.OUT_OF_RANGE)),
    ("date", "June 12th 2030", {"purpose": UPCOMING}, N(Why.OUT_OF_RANGE)),
    # no purpose: neither a two-digit nor a missing year can be placed
    ("date", "4 15 85", {"purpose": ANY}, A(Why.TWO_DIGIT_YEAR)),
    ("date", "April 15th", {"purpose": ANY}, A(Why.NO_YEAR)),
    ("date", "4 15 1985", {"purpose": ANY}, V(APRIL_15)),
    # ------------------------------------------------------------------ keypad dates
    ("keyed", "04151985", {"purpose": BIRTH}, V(APRIL_15)),
    ("keyed", "04151985#", {"purpose": BIRTH}, V(APRIL_15)),
    ("keyed", "041585", {"purpose": BIRTH}, V(APRIL_15)),
    ("keyed", "041525", {"purpose": BIRTH}, A(Why.TWO_DIGIT_YEAR, d(4, 15, 1925), d(4, 15, 2025))),
    ("keyed", "02302020", {"purpose": BIRTH}, N(Why.NO_SUCH_DATE)),
    ("keyed", "13011985", {"purpose": BIRTH}, N(Why.NO_SUCH_DATE)),
    ("keyed", "4151985", {"purpose": BIRTH}, N(Why.NOT_A_VALUE)),
    ("keyed", "", {"purpose": BIRTH}, N(Why.NOTHING_SAID)),
    # ------------------------------------------------------------------ times of day
    ("time", "ten thirty", {}, V(t(10, 30))),
    # fix14-bt S6: an hour said as a digit's homophone, as in dates; "to" after a number stays "to"
    ("time", "for thirty", {}, V(t(16, 30))),
    ("time", "to thirty", {}, V(t(14, 30))),
    ("time", "for o'clock", {}, V(t(16))),
    ("time", "too pm", {}, V(t(14))),
    ("time", "at for thirty", {}, V(t(16, 30))),
    ("time", "ten to four", {}, V(t(15, 50))),
    ("time", "from two to four", {}, V(between(14, 16))),
    ("time", "I need to", {}, N(Why.NOT_A_VALUE)),
    # bt14 s24 nit 7: an hour's homophone after half/quarter/minutes and past/to/of is the hour
    ("time", "half past for", {}, V(t(16, 30))),
    ("time", "quarter to for", {}, V(t(15, 45))),
    ("time", "quarter past too", {}, V(t(14, 15))),
    ("time", "quarter after too", {}, V(t(14, 15))),
    ("time", "ten to for", {}, V(t(15, 50))),
    ("time", "twenty past ate", {}, A(Why.AM_PM, t(8, 20), t(20, 20))),
    ("time", "half past for in the afternoon", {}, V(t(16, 30, PartOfDay.AFTERNOON))),
    ("time", "half past", {}, N(Why.NOT_A_VALUE)),
    # "-ish" is around; the working day's words (docs/understanding.md, Times)
    ("time", "noonish", {}, V(t(12, 0, bound=Bound.AROUND))),
    ("time", "2ish", {}, V(t(14, 0, bound=Bound.AROUND))),
    ("time", "twoish", {}, V(t(14, 0, bound=Bound.AROUND))),
    ("time", "around tennish", {}, V(t(10, 0, bound=Bound.AROUND))),
    ("time", "3 o'clockish", {}, V(t(15, 0, bound=Bound.AROUND))),
    ("time", "end of the day", {}, V(t(16, 0, bound=Bound.AFTER))),
    ("time", "at the end of the day", {}, V(t(16, 0, bound=Bound.AFTER))),
    ("time", "end of day", {}, V(t(16, 0, bound=Bound.AFTER))),
    ("time", "after work", {}, V(part(PartOfDay.EVENING))),
    ("time", "before work", {}, V(t(9, 0, bound=Bound.BEFORE))),
    ("time", "before I go to work", {}, V(t(9, 0, bound=Bound.BEFORE))),
    # days said as a habit stay with the time ("weekdays after 5" is not every day after 5)
    ("time", "weekdays after 5", {}, V(SpokenTime(dt.time(17), None, Bound.AFTER, weekdays=(0, 1, 2, 3, 4)))),
    ("time", "weekday mornings", {}, V(SpokenTime(None, PartOfDay.MORNING, weekdays=(0, 1, 2, 3, 4)))),
    ("time", "after 5 on weekdays", {}, V(SpokenTime(dt.time(17), None, Bound.AFTER, weekdays=(0, 1, 2, 3, 4)))),
    ("time", "weekends", {}, V(SpokenTime(None, PartOfDay.ANY, weekdays=(5, 6)))),
    ("time", "tuesdays and thursdays at 3", {}, V(SpokenTime(dt.time(15), weekdays=(1, 3)))),
    ("time", "weekdays at seven", {}, A(Why.AM_PM, SpokenTime(dt.time(7), weekdays=(0, 1, 2, 3, 4)),
                                        SpokenTime(dt.time(19), weekdays=(0, 1, 2, 3, 4)))),
    ("digits", "for for for", {}, V("444")),
    ("digits", "ate ate ate", {}, V("888")),
    ("digits", "to to", {}, V("22")),
    ("digits", "for", {}, N(Why.NOT_A_VALUE)),
    ("time", "10:30", {}, V(t(10, 30))),
    ("time", "half past two", {}, V(t(14, 30))),
    # Review 14b finding 14: "o" before a digit is zero; a lone zero is no time; "half two" is half past two.
    ("time", "three o five", {}, V(t(15, 5))),
    ("time", "at ten o five", {}, V(t(10, 5))),
    ("time", "ten o'clock", {}, V(t(10))),
    ("time", "zero", {}, N(Why.NOT_A_VALUE)),
    ("time", "0", {}, N(Why.NOT_A_VALUE)),
    ("time", "half two", {}, V(t(14, 30))),
    ("time", "half nine", {}, V(t(9, 30))),
    ("time", "quarter to three", {}, V(t(14, 45))),
    ("time", "a quarter past ten", {}, V(t(10, 15))),
    ("time", "noon", {}, V(t(12))),
    ("time", "12 noon", {}, V(t(12))),
    ("time", "midday", {}, V(t(12))),
    ("time", "midnight", {}, V(t(0))),
    ("time", "2 pm", {}, V(t(14))),
    ("time", "2 p.m.", {}, V(t(14))),
    ("time", "2pm", {}, V(t(14))),
    ("time", "10am", {}, V(t(10))),
    ("time", "seven thirty a.m.", {}, V(t(7, 30))),
    ("time", "2:30 p.m.", {}, V(t(14, 30))),
    ("time", "14:30", {}, V(t(14, 30))),
    ("time", "1430", {}, V(t(14, 30))),
    ("time", "two o'clock", {}, V(t(14))),
    ("time", "in the afternoon", {}, V(part(PartOfDay.AFTERNOON))),
    ("time", "mornings", {}, V(part(PartOfDay.MORNING))),
    ("time", "whenever", {}, V(part(PartOfDay.ANY))),
    ("time", "any time", {}, V(part(PartOfDay.ANY))),
    ("time", "two in the afternoon", {}, V(t(14, 0, PartOfDay.AFTERNOON))),
    ("time", "seven in the evening", {}, V(t(19, 0, PartOfDay.EVENING))),
    ("time", "eleven at night", {}, V(t(23, 0, PartOfDay.NIGHT))),
    ("time", "three in the morning", {}, V(t(3, 0, PartOfDay.MORNING))),
    ("time", "tonight at 8", {}, V(t(20, 0, PartOfDay.EVENING))),
    ("time", "nine", {}, V(t(9))),  # 21:00 is past the practice's day
    ("time", "twelve thirty", {}, V(t(12, 30))),
    ("time", "ten to four", {}, V(t(15, 50))),
    ("time", "ten of four", {}, V(t(15, 50))),
    ("time", "twenty past six", {}, V(t(18, 20))),
    ("time", "five after six", {}, V(t(18, 5))),
    ("time", "ten oh five", {}, V(t(10, 5))),
    ("time", "after five", {}, V(t(17, 0, None, Bound.AFTER))),
    ("time", "before noon", {}, V(t(12, 0, None, Bound.BEFORE))),
    ("time", "around 3 o'clock", {}, V(t(15, 0, None, Bound.AROUND))),
    ("time", "5 or later", {}, V(t(17, 0, None, Bound.AFTER))),
    ("time", "I'm usually free after five", {}, V(t(17, 0, None, Bound.AFTER))),
    ("time", "around lunch", {}, V(t(12, 0, None, Bound.AROUND))),
    ("time", "after work", {}, V(part(PartOfDay.EVENING))),
    # ranges, for "the best time to call you back"
    ("time", "between 2 and 4", {}, V(between(14, 16))),
    ("time", "9 to 5", {}, V(between(9, 17))),
    ("time", "nine to five", {}, V(between(9, 17))),  # nine minutes to five is not how a time is said
    ("time", "from noon until 3", {}, V(between(12, 15))),
    ("time", "2 to 4 pm", {}, V(between(14, 16))),
    ("time", "three to four", {}, V(between(15, 16))),
    ("time", "10 to 4", {}, A(Why.SEVERAL, t(15, 50), between(10, 16))),  # 3:50, or ten till four?
    ("time", "7 to 8", {}, A(Why.AM_PM, between(7, 8), between(19, 20))),
    ("time", "seven", {}, A(Why.AM_PM, t(7), t(19))),
    ("time", "eight thirty", {}, A(Why.AM_PM, t(8, 30), t(20, 30))),
    ("time", "ten", {"hours": (dt.time(9), dt.time(23))}, A(Why.AM_PM, t(10), t(22))),
    ("time", "ten five", {}, N(Why.NOT_A_VALUE)),  # 10:05 is said "ten oh five"
    ("time", "half past", {}, N(Why.NOT_A_VALUE)),
    ("time", "13 am", {}, N(Why.NOT_A_VALUE)),
    ("time", "", {}, N(Why.NOTHING_SAID)),
    # ------------------------------------------------------------------ days, from Thursday 5 June
    ("day", "today", {}, V(span(d(6, 5)))),
    ("day", "tomorrow", {}, V(span(d(6, 6)))),
    ("day", "tomorrow", {"now": LATE}, V(span(d(6, 6)))),  # 22:00 in New York is still the 5th there
    ("day", "yesterday", {}, V(span(d(6, 4)))),
    ("day", "tomorrow afternoon", {}, V(span(d(6, 6), None, part(PartOfDay.AFTERNOON)))),
    ("day", "the day after tomorrow", {}, V(span(d(6, 7)))),
    ("day", "this Friday", {}, V(span(d(6, 6)))),
    ("day", "Friday", {}, V(span(d(6, 6)))),
    ("day", "on Friday", {}, V(span(d(6, 6)))),
    ("day", "next Tuesday", {}, V(span(d(6, 10)))),  # the coming Tuesday is already next week
    ("day", "next Thursday", {}, V(span(d(6, 12)))),
    ("day", "next Friday", {}, A(Why.WHICH_WEEK, span(d(6, 6)), span(d(6, 13)))),  # tomorrow, or a week later?
    ("day", "next Friday", {"now": SUNDAY}, V(span(d(6, 13)))),  # weeks start on Monday
    ("day", "next Friday", {"now": SUNDAY, "week_start": 6}, A(Why.WHICH_WEEK, span(d(6, 13)), span(d(6, 20)))),
    ("day", "Thursday", {}, A(Why.WHICH_WEEK, span(d(6, 5)), span(d(6, 12)))),  # today, or a week today?
    ("day", "this Thursday", {}, V(span(d(6, 5)))),
    ("day", "Tuesday after next", {}, V(span(d(6, 17)))),
    ("day", "next week", {}, V(span(d(6, 9), d(6, 15)))),
    # Review 14b finding 14 (today Thursday June 5).
    ("day", "the following Wednesday", {}, V(span(d(6, 18)))),
    ("day", "two weeks from now", {}, V(span(d(6, 19)))),
    ("day", "a week from now", {}, V(span(d(6, 12)))),
    ("day", "end of the week", {}, V(span(d(6, 5), d(6, 6)))),
    ("day", "the weekend", {}, V(span(d(6, 7), d(6, 8)))),
    ("day", "this week", {}, V(span(d(6, 5), d(6, 8)))),
    # fix14-left2 break-test: the rest of this week said other ways
    ("day", "later in the week", {}, V(span(d(6, 5), d(6, 8)))),
    ("day", "the rest of the week", {}, V(span(d(6, 5), d(6, 8)))),
    ("day", "sometime later in the week", {}, V(span(d(6, 5), d(6, 8)))),
    ("day", "the week after next", {}, V(span(d(6, 16), d(6, 22)))),
    ("day", "this weekend", {}, V(span(d(6, 7), d(6, 8)))),
    ("day", "next weekend", {}, A(Why.WHICH_WEEK, span(d(6, 7), d(6, 8)), span(d(6, 14), d(6, 15)))),
    ("day", "in two weeks", {}, V(span(d(6, 19)))),
    ("day", "a week from Friday", {}, V(span(d(6, 13)))),
    ("day", "a week from today", {}, V(span(d(6, 12)))),
    ("day", "two weeks from tomorrow", {}, V(span(d(6, 20)))),
    ("day", "in 3 days", {}, V(span(d(6, 8)))),
    ("day", "in a couple of days", {}, V(span(d(6, 7)))),
    ("day", "June 12th", {}, V(span(d(6, 12)))),
    ("day", "the 12th", {}, V(span(d(6, 12)))),
    ("day", "on the third", {}, V(span(d(7, 3)))),
    ("day", "next Tuesday at 3", {}, V(span(d(6, 10), None, t(15)))),
    ("day", "June 12th at 3pm", {}, V(span(d(6, 12), None, t(15)))),
    ("day", "6/12", {}, V(span(d(6, 12)))),
    ("day", "6/12 at 10:30", {}, V(span(d(6, 12), None, t(10, 30)))),
    ("day", "can we move it to 5", {}, N(Why.NOT_A_VALUE)),  # a time, not February 5th
    ("day", "tomorrow at seven", {}, A(Why.AM_PM, span(d(6, 6), None, t(7)), span(d(6, 6), None, t(19)))),
    ("day", "tomorrow at seven in the evening", {}, V(span(d(6, 6), None, t(19, 0, PartOfDay.EVENING)))),
    ("day", "Monday morning", {}, V(span(d(6, 9), None, part(PartOfDay.MORNING)))),
    ("day", "tonight", {}, V(span(d(6, 5), None, part(PartOfDay.EVENING)))),
    ("day", "this afternoon", {}, V(span(d(6, 5), None, part(PartOfDay.AFTERNOON)))),
    ("day", "can we do Monday after 5 instead", {}, V(span(d(6, 9), None, t(17, 0, None, Bound.AFTER)))),
    ("day", "Tuesday or Wednesday", {}, A(Why.SEVERAL, span(d(6, 10)), span(d(6, 11)))),
    ("day", "whenever you have something", {}, N(Why.NOT_A_VALUE)),
    ("day", "", {}, N(Why.NOTHING_SAID)),
    # review 14 finding 13: a self-correction is asked about, unless what follows it is the same value
    ("date", "april fifteen nineteen eighty five no wait sixteen", {"purpose": BIRTH}, A(Why.SEVERAL, APRIL_15)),
    ("date", "April fifteenth, ah, no, nineteen eighty five", {"purpose": BIRTH}, A(Why.SEVERAL)),  # never NO_YEAR
    ("date", "April 15 I mean 16 1985", {"purpose": BIRTH}, A(Why.SEVERAL)),
    ("date", "four fifteen nineteen eighty five, actually four sixteen nineteen eighty five", {"purpose": BIRTH},
     A(Why.SEVERAL, APRIL_15, d(4, 16, 1985))),
    ("date", "April 15th 1985, sorry, April 15th 1985", {"purpose": BIRTH}, V(APRIL_15)),  # said again: fine
    ("date", "no, it's April 15th 1985", {"purpose": BIRTH}, V(APRIL_15)),  # a "no" before the date corrects nothing
    ("time", "ten thirty, no wait, eleven", {}, A(Why.SEVERAL, t(10, 30), t(11))),
    ("time", "2 pm, sorry, 3 pm", {}, A(Why.SEVERAL, t(14), t(15))),
    ("time", "three, I mean four", {}, A(Why.SEVERAL, t(16))),
    ("time", "2 pm, sorry, 2 pm", {}, V(t(14))),
    ("day", "Tuesday, no wait, Wednesday", {}, A(Why.SEVERAL, span(d(6, 10)), span(d(6, 11)))),
    ("day", "tomorrow at 3, no wait, 4", {}, A(Why.SEVERAL, span(d(6, 6), None, t(15)))),
    ("day", "Tuesday, sorry, Tuesday", {}, V(span(d(6, 10)))),
    # review 14 finding 14: negated bounds, alternatives, a weekday and a date that disagree, days ruled out
    ("time", "not before ten", {}, V(t(10, 0, None, Bound.AFTER))),
    ("time", "no earlier than 10", {}, V(t(10, 0, None, Bound.AFTER))),
    ("time", "not after five", {}, V(t(17, 0, None, Bound.BEFORE))),
    ("time", "no later than 5 pm", {}, V(t(17, 0, None, Bound.BEFORE))),
    ("time", "later than 4", {}, V(t(16, 0, None, Bound.AFTER))),
    ("time", "after 5 at the earliest", {}, V(t(17, 0, None, Bound.AFTER))),
    ("time", "not at ten", {}, N(Why.NOT_A_VALUE)),
    ("time", "mornings but not at ten", {}, V(part(PartOfDay.MORNING))),
    ("time", "three thirty or four", {}, A(Why.SEVERAL, t(15, 30), t(16))),
    ("day", "not Tuesday", {}, N(Why.NOT_A_VALUE)),
    ("day", "anything except Friday", {}, N(Why.NOT_A_VALUE)),
    ("day", "Tuesday but not Wednesday", {}, V(span(d(6, 10)))),
    ("day", "No, Tuesday", {}, V(span(d(6, 10)))),
    ("day", "Friday the 6th", {}, V(span(d(6, 6)))),
    ("day", "Friday the 7th", {}, A(Why.SEVERAL, span(d(6, 6)), span(d(6, 7)))),  # the 7th is a Saturday
    ("day", "Friday June 7th", {}, A(Why.SEVERAL, span(d(6, 6)), span(d(6, 7)))),
    ("day", "next Friday the 13th", {}, V(span(d(6, 13)))),  # the date says which Friday
    # review 14b finding 1: a weekday with its week, or with a date that agrees, is that one day
    ("day", "Wednesday next week", {}, V(span(d(6, 11)))),
    ("day", "next week on Wednesday", {}, V(span(d(6, 11)))),
    ("day", "next week Wednesday", {}, V(span(d(6, 11)))),
    ("day", "Tuesday of the week after next", {}, V(span(d(6, 17)))),
    ("day", "Friday this week", {}, V(span(d(6, 6)))),
    ("day", "Wednesday next week at 3", {}, V(span(d(6, 11), time=t(15)))),
    ("day", "Thursday the 12th", {}, V(span(d(6, 12)))),
    ("day", "Monday the ninth", {}, V(span(d(6, 9)))),
    ("day", "Wednesday the 3rd", {}, A(Why.SEVERAL, span(d(6, 11)), span(d(7, 3)))),  # July 3rd is a Thursday
    # ------------------------------------------------------------------ months, holidays, counted days (issue 14 gap)
    ("day", "in January", {}, V(span(d(1, 1, 2026), d(1, 31, 2026)))),  # said in June: next January
    ("day", "January", {}, V(span(d(1, 1, 2026), d(1, 31, 2026)))),
    ("day", "sometime in January", {}, V(span(d(1, 1, 2026), d(1, 31, 2026)))),
    ("day", "early January", {}, V(span(d(1, 1, 2026), d(1, 10, 2026)))),
    ("day", "the beginning of January", {}, V(span(d(1, 1, 2026), d(1, 10, 2026)))),
    ("day", "mid-January", {}, V(span(d(1, 11, 2026), d(1, 20, 2026)))),
    ("day", "the middle of April", {}, V(span(d(4, 11, 2026), d(4, 20, 2026)))),
    ("day", "late March", {}, V(span(d(3, 21, 2026), d(3, 31, 2026)))),
    ("day", "the end of February", {}, V(span(d(2, 21, 2026), d(2, 28, 2026)))),
    ("day", "the first week of January", {}, V(span(d(1, 1, 2026), d(1, 7, 2026)))),
    ("day", "the second week of July", {}, V(span(d(7, 8), d(7, 14)))),
    ("day", "the last week of June", {}, V(span(d(6, 24), d(6, 30)))),
    ("day", "in June", {}, V(span(d(6, 5), d(6, 30)))),  # this month: from today
    ("day", "early June", {}, V(span(d(6, 5), d(6, 10)))),
    ("day", "in July", {}, V(span(d(7, 1), d(7, 31)))),
    ("day", "in May", {}, V(span(d(5, 1, 2026), d(5, 31, 2026)))),  # May is past: next year's
    ("day", "January next year", {}, V(span(d(1, 1, 2026), d(1, 31, 2026)))),
    ("day", "July of next year", {}, V(span(d(7, 1, 2026), d(7, 31, 2026)))),
    ("day", "January 2026", {}, V(span(d(1, 1, 2026), d(1, 31, 2026)))),
    ("day", "March 2025", {}, A(Why.OUT_OF_RANGE)),  # over: asked again, never moved to another March
    ("day", "next month", {}, V(span(d(7, 1), d(7, 31)))),
    ("day", "early next month", {}, V(span(d(7, 1), d(7, 10)))),
    ("day", "the end of the month", {}, V(span(d(6, 21), d(6, 30)))),
    ("day", "this month", {}, V(span(d(6, 5), d(6, 30)))),
    ("day", "the beginning of the month", {}, V(span(d(6, 5), d(6, 10)))),  # what is left of the 1st-10th
    ("day", "the beginning of the month", {"now": DEC_20}, A(Why.OUT_OF_RANGE)),  # over
    ("day", "next month", {"now": DEC_20}, V(span(d(1, 1, 2026), d(1, 31, 2026)))),
    ("day", "next year", {}, A(Why.VAGUE)),  # refused: the flow asks for a day, never reads a date into it
    ("day", "sometime next year", {}, A(Why.VAGUE)),
    ("day", "this year", {}, A(Why.VAGUE)),
    ("day", "in a month", {}, V(span(d(7, 5)))),
    ("day", "Christmas", {}, V(span(d(12, 25)))),
    ("day", "Christmas Eve at 3", {}, V(span(d(12, 24), None, t(15)))),
    ("day", "after Christmas", {}, V(span(d(12, 26), d(1, 22, 2026)))),  # the four weeks after
    ("day", "before Thanksgiving", {}, V(span(d(6, 5), d(11, 26)))),  # Thanksgiving 2025: Thursday Nov 27
    ("day", "Thanksgiving", {"now": DEC_20}, V(span(d(11, 26, 2026)))),  # computed per year: Nov 26, 2026
    ("day", "the day before Thanksgiving", {}, V(span(d(11, 26)))),
    ("day", "the day after Christmas", {}, V(span(d(12, 26)))),
    ("day", "the week after Christmas", {}, V(span(d(12, 29), d(1, 4, 2026)))),
    ("day", "between Christmas and New Year", {}, V(span(d(12, 26), d(12, 31)))),
    ("day", "between Christmas and New Year's", {"now": DEC_20}, V(span(d(12, 26), d(12, 31)))),
    ("day", "after New Year's", {"now": DEC_20}, V(span(d(1, 2, 2026), d(1, 29, 2026)))),
    ("day", "after the holidays", {}, V(span(d(1, 2, 2026), d(1, 29, 2026)))),
    ("day", "Easter", {}, V(span(d(4, 5, 2026)))),
    ("day", "Memorial Day", {}, V(span(d(5, 25, 2026)))),
    ("day", "Labor Day", {}, V(span(d(9, 1)))),
    ("day", "Juneteenth", {}, V(span(d(6, 19)))),
    ("day", "MLK day", {}, V(span(d(1, 19, 2026)))),
    ("day", "by Friday", {}, V(span(d(6, 5), d(6, 6)))),
    ("day", "after next Tuesday", {}, V(span(d(6, 11), d(7, 8)))),
    ("day", "in a fortnight", {}, V(span(d(6, 19)))),
    ("day", "a fortnight from Friday", {}, V(span(d(6, 20)))),
    ("day", "Monday week", {}, V(span(d(6, 16)))),  # a week after the coming Monday
    ("day", "Tuesday fortnight", {}, V(span(d(6, 24)))),
    # fix14-bt S5: a week or a fortnight after today or tomorrow (Thursday 5 June)
    ("day", "a week today", {}, V(span(d(6, 12)))),
    ("day", "today week", {}, V(span(d(6, 12)))),
    ("day", "fortnight today", {}, V(span(d(6, 19)))),
    ("day", "a fortnight today", {}, V(span(d(6, 19)))),
    ("day", "a week tomorrow", {}, V(span(d(6, 13)))),
    ("day", "tomorrow week", {}, V(span(d(6, 13)))),
    ("day", "can I come a week today in the afternoon", {}, V(span(d(6, 12), time=part(PartOfDay.AFTERNOON)))),
    ("day", "a week on Monday", {}, V(span(d(6, 16)))),
    ("day", "the day after", {}, A(Why.VAGUE)),  # nothing to count from: asked, never guessed
    ("day", "the next day", {}, A(Why.VAGUE)),
    ("day", "the day after", {"anchor": d(6, 20)}, V(span(d(6, 21)))),  # the appointment, or a refused day
    ("day", "can I come the day after", {"anchor": d(6, 20)}, V(span(d(6, 21)))),
    ("day", "the day before", {"anchor": d(6, 20)}, V(span(d(6, 19)))),
    ("day", "the week after", {"anchor": d(6, 20)}, V(span(d(6, 23), d(6, 29)))),
    ("day", "Friday or the day after", {"anchor": d(6, 20)}, A(Why.SEVERAL, span(d(6, 6)), span(d(6, 7)))),
    ("day", "the day after Christmas", {"anchor": d(6, 20)}, V(span(d(12, 26)))),  # its own day, not the anchor
    ("day", "Christmas, no wait, the day after", {}, A(Why.SEVERAL, span(d(12, 25)), span(d(12, 26)))),
    ("day", "may I move it", {}, N(Why.NOT_A_VALUE)),  # "may" is no month here
    # ------------------------------------------------------------------ phone numbers (review 14 finding 17)
    ("phone", "1 555 123 4567", {}, V("+15551234567")),  # the country code said first
    ("phone", "+1 555 123 4567", {}, V("+15551234567")),
    ("phone", "plus one five five five one two three four five six seven", {}, V("+15551234567")),
    ("phone", "15551234567", {}, V("+15551234567")),  # typed with the 1: never cut at ten digits
    ("phone", "5551234567", {}, V("+15551234567")),
    ("phone", "(555) 123-4567", {}, V("+15551234567")),
    ("phone", "five five five one two three oh oh nine nine", {}, V("+15551230099")),
    ("phone", "my number is 555 123 4567, thanks", {}, V("+15551234567")),
    ("phone", "+44 1632 960000", {}, V("+441632960000")),
    ("phone", "it's plus forty four 1632 960000", {}, V("+441632960000")),
    ("phone", "011 44 1632 960000", {}, V("+441632960000")),  # the US international prefix
    ("phone", "020 7946 0000", {"region": "GB"}, V("+442079460000")),  # read in the practice's region
    ("phone", "1555123456", {}, N(Why.WRONG_LENGTH)),  # 11 digits cut at 10: no area code starts with 1
    ("phone", "555 1234", {}, N(Why.WRONG_LENGTH)),  # no area code
    ("phone", "155512345678", {}, N(Why.WRONG_LENGTH)),
    ("phone", "five five five, no wait, five five six one two three four five six seven", {}, A(Why.SEVERAL)),
    ("phone", "I don't have one", {}, N(Why.NOT_A_VALUE)),
    # fix14-nits6 (bt14-s25 nit 7): an extension after the number is kept as RFC 3966 writes it, said or typed any way
    ("phone", "555 212 3456 ext 12", {}, V("+15552123456;ext=12")),
    ("phone", "five five five two one two three four five six extension twelve", {}, V("+15552123456;ext=12")),
    ("phone", "555 212 3456, x12", {}, V("+15552123456;ext=12")),
    ("phone", "555 212 3456 x 12", {}, V("+15552123456;ext=12")),
    ("phone", "(555) 212-3456 ext. 12", {}, V("+15552123456;ext=12")),
    ("phone", "my number is 555 123 4567 ext 12", {}, V("+15551234567;ext=12")),
    ("phone", "my number is 555 212 3456 extension one two thanks", {}, V("+15552123456;ext=12")),
    ("phone", "555 212 3456 and then extension 12", {}, V("+15552123456;ext=12")),
    ("phone", "555 212 3456 at extension number 204", {}, V("+15552123456;ext=204")),
    ("phone", "five five five two one two three four five six ex twelve", {}, V("+15552123456;ext=12")),
    ("phone", "5552123456*12", {}, V("+15552123456;ext=12")),  # typed: star, then the extension
    ("phone", "+44 1632 960000 ext 7", {}, V("+441632960000;ext=7")),
    ("phone", "plus forty four 1632 960000 extension 7", {}, V("+441632960000;ext=7")),
    ("phone", "555 212 3456 extension", {}, A(Why.EXTENSION, "+15552123456")),  # no digits after it
    ("phone", "555 212 3456 ext 12345678", {}, A(Why.EXTENSION, "+15552123456")),  # too long for one
    ("phone", "extension 12, 555 212 3456", {}, A(Why.EXTENSION)),  # said first: where it ends is a guess
    ("phone", "555 212 3456 extension 1 2, no wait, 1 3", {}, A(Why.SEVERAL)),
    ("phone", "555 1234 ext 12", {}, N(Why.WRONG_LENGTH)),  # the number itself is cut short
    ("phone", "my ex is 555 212 3456", {}, V("+15552123456")),  # "ex" before the number is no extension
    ("phone", "555 212 3456 x", {}, V("+15552123456")),
    # ------------------------------------------------------------------ digit strings
    ("digits", "five five five, one two three, four five six seven", {}, V("5551234567")),
    ("digits", "double five", {}, V("55")),
    ("digits", "triple seven", {}, V("777")),
    ("digits", "five double five", {}, V("555")),
    ("digits", "oh four one five", {}, V("0415")),
    ("digits", "five fifty five", {}, V("555")),
    ("digits", "eight hundred", {}, V("800")),
    ("digits", "one eight hundred five five five one two one two", {}, V("18005551212")),  # 800, then 555
    ("digits", "five hundred and five", {}, V("505")),
    ("digits", "two thousand five", {}, V("2005")),
    ("digits", "nineteen eighty five", {}, V("1985")),
    ("digits", "twelve", {}, V("12")),
    ("digits", "my number is 555 123 4567", {}, V("5551234567")),
    ("digits", "(555) 123-4567", {}, V("5551234567")),
    ("digits", "area code five five five", {}, V("555")),
    ("digits", "plus one five five five", {}, V("1555")),
    ("digits", "oh, um, five five five", {}, V("555")),  # a leading "oh" that touches no number is a sigh
    ("digits", "oh oh seven", {}, V("007")),
    ("digits", "for to one", {}, V("421")),
    ("digits", "one two three four", {"length": 4}, V("1234")),
    ("digits", "one two three", {"length": 4}, N(Why.WRONG_LENGTH)),
    ("digits", "five five five, no wait, five five six", {}, A(Why.SEVERAL)),
    ("digits", "yeah sure, it's 555 1234, thanks", {}, V("5551234")),  # lead-in and tail skipped
    ("digits", "no, it's five five five", {}, V("555")),  # a "no" before the number corrects nothing
    ("digits", "one two, um, buckle three", {}, N(Why.NOT_A_VALUE)),  # a stray word inside the number
    ("digits", "I don't have one", {}, N(Why.NOT_A_VALUE)),
    ("digits", "double", {}, N(Why.NOT_A_VALUE)),
    ("digits", "", {}, N(Why.NOTHING_SAID)),
    # ------------------------------------------------------------------ yes / no
    *[("yes_no", said, {}, V(True)) for said in ("that's my number", "yes that is my number")],  # review 14b f. 14
    *[("yes_no", said, {}, V(False)) for said in ("that's not my number", "no, that isn't my number")],
    *[("yes_no", said, {}, V(True)) for said in (
        "yes", "Yes.", "yeah", "yeah that's me", "yep", "yup", "uh huh", "uh-huh", "mm-hmm", "mhm", "sure",
        "sure thing", "correct", "that's right", "That is correct.", "right", "okay", "ok", "alright",
        "absolutely", "of course", "yes please", "please do", "go ahead", "sounds good", "speaking",
        "this is she", "it's me", "I am", "yes I am", "I think so", "no problem", "you got it", "um, yes",
        "no worries", "all good",
        "go for it", "let's do it", "works for me", "that works for me",  # fix14-left2 break-test
    )],
    *[("yes_no", said, {}, V(False)) for said in (
        "no", "No.", "nope", "nah", "uh-uh", "that's not right", "not right", "that's wrong", "wrong number",
        "not me", "no thanks", "no thank you", "I don't think so", "absolutely not", "of course not",
        "not really", "yeah no", "I'm not", "please don't", "never", "I'm good", "nah I'm good", "it's not",
        "not quite",
    )],
    # bt14 s24 nit 7: a yes word taken back is no yes; "why not" after a yes is still a yes.
    *[("yes_no", said, {}, V(False)) for said in ("sure not", "Sure not.", "right not", "correct not", "okay not")],
    *[("yes_no", said, {}, V(True)) for said in ("sure, why not", "yes, why not", "why not", "bingo", "yas",
                                                 "I'm sure", "sure sure")],
    *[("yes_no", said, {}, N(Why.UNSURE)) for said in ("not sure", "I'm not sure", "not sure why", "not certain")],
    ("yes_no", "I'm sure not", {}, A(Why.MIXED, True, False)),  # asked again, never a yes
    ("yes_no", "sure, not now", {}, A(Why.MIXED, True, False)),
    ("yes_no", "yes no", {}, A(Why.MIXED, True, False)),
    ("yes_no", "no, yes", {}, A(Why.MIXED, True, False)),
    ("yes_no", "yeah I'm not sure", {}, A(Why.MIXED, True, False)),
    ("yes_no", "yes, wrong number", {}, A(Why.MIXED, True, False)),
    ("yes_no", "maybe", {}, N(Why.UNSURE)),
    ("yes_no", "I don't know", {}, N(Why.UNSURE)),
    ("yes_no", "not sure", {}, N(Why.UNSURE)),
    ("yes_no", "I guess", {}, N(Why.UNSURE)),
    ("yes_no", "I guess so", {}, N(Why.UNSURE)),
    ("yes_no", "billing", {}, N(Why.NOT_A_VALUE)),
    ("yes_no", "yesterday", {}, N(Why.NOT_A_VALUE)),
    ("yes_no", "", {}, N(Why.NOTHING_SAID)),
    # first names (review 14 finding 5): greetings, fillers and lead-ins dropped; words that are no name
    # are never a name
    ("name", "hi my name is Jane", {}, V("Jane")),
    ("name", "I'm not suicidal, my name is Jane", {}, V("Jane")),
    ("name", "hello this is Jane", {}, V("Jane")),
    ("name", "um Jane", {}, V("Jane")),
    ("name", "good morning my name is Jane", {}, V("Jane")),
    ("name", "Jane, it's Jane", {}, V("Jane")),
    ("name", "it's Jane", {}, V("Jane")),
    # bt14-s25 nit 7: a two-digit birth year gives an age from 0 to MAX_AGE (110) in whole years; both centuries
    # fitting is asked (today 2025-06-05: 1915-04-15 is 110, 1914-04-15 is 111)
    ("date", "4 15 16", {"purpose": BIRTH}, A(Why.TWO_DIGIT_YEAR, d(4, 15, 1916), d(4, 15, 2016))),
    ("date", "4 15 14", {"purpose": BIRTH}, V(d(4, 15, 2014))),
    ("date", "6 6 14", {"purpose": BIRTH}, A(Why.TWO_DIGIT_YEAR, d(6, 6, 1914), d(6, 6, 2014))),  # 110 until 6 June
    ("date", "6 4 14", {"purpose": BIRTH}, V(d(6, 4, 2014))),  # 1914-06-04 turned 111 yesterday
    # bt14-s25 nit 7: a month said as an ordinal; "the 4th of the 5th" can be either order, so it is asked
    ("date", "the 15th of the 4th 1985", {"purpose": BIRTH}, V(APRIL_15)),
    ("date", "fourth fifteenth 1985", {"purpose": BIRTH}, V(APRIL_15)),
    ("date", "the fifteenth of the fourth nineteen eighty five", {"purpose": BIRTH}, V(APRIL_15)),
    ("date", "the 4th of the 5th 1985", {"purpose": BIRTH}, A(Why.ORDER, d(4, 5, 1985), d(5, 4, 1985))),
    ("date", "the fifth 1985", {"purpose": BIRTH}, N(Why.NOT_A_VALUE)),
    # bt14-s25 nit 6: every date offered is listed, each completed from the others
    ("date", "4 15 or 4 16 1985", {"purpose": BIRTH}, A(Why.SEVERAL, APRIL_15, d(4, 16, 1985))),
    ("date", "april 15 or 16 1985", {"purpose": BIRTH}, A(Why.SEVERAL, APRIL_15, d(4, 16, 1985))),
    ("date", "april 15 1985 or was it 1986", {"purpose": BIRTH}, A(Why.SEVERAL, APRIL_15, d(4, 15, 1986))),
    ("date", "april 15 85 or 86", {"purpose": BIRTH}, A(Why.SEVERAL, APRIL_15, d(4, 15, 1986))),
    # bt14-s25 nit 7: the 24-hour clock with "hours"; parts of a week narrower than the whole week (said on
    # Thursday 5 June: next week is 9-15 June)
    ("time", "1700 hours", {}, V(t(17))),
    ("time", "0900 hours", {}, V(t(9))),
    ("time", "seventeen thirty hours", {}, V(t(17, 30))),
    ("time", "in two hours", {}, N(Why.NOT_A_VALUE)),  # a length, never 2 o'clock
    ("day", "early next week", {}, V(span(d(6, 9), d(6, 11)))),
    ("day", "the beginning of next week", {}, V(span(d(6, 9), d(6, 11)))),
    ("day", "the middle of next week", {}, V(span(d(6, 10), d(6, 12)))),
    ("day", "end of next week", {}, V(span(d(6, 12), d(6, 13)))),
    ("day", "late next week", {}, V(span(d(6, 12), d(6, 13)))),
    ("day", "early this week", {}, A(Why.OUT_OF_RANGE)),  # Monday to Wednesday are past on Thursday
    ("day", "next week", {}, V(span(d(6, 9), d(6, 15)))),
    ("name", "I'm Jane", {}, V("Jane")),
    ("name", "this is Jane speaking", {}, V("Jane")),
    ("name", "Mary Ann", {}, V("Mary Ann")),
    ("name", "J A N E", {}, V("Jane")),
    ("name", "it's j o", {}, V("Jo")),
    ("name", "Jane Elizabeth Smith", {}, V("Jane Elizabeth")),
    ("name", "I'm calling about my depression", {}, N(Why.NOT_A_VALUE)),
    ("name", "I'm not suicidal", {}, N(Why.NOT_A_VALUE)),
    ("name", "yes", {}, N(Why.NOT_A_VALUE)),
    ("name", "no", {}, N(Why.NOT_A_VALUE)),
    ("name", "hi", {}, N(Why.NOT_A_VALUE)),
    ("name", "my name is", {}, N(Why.NOT_A_VALUE)),
    ("name", "I'd rather not say", {}, N(Why.UNSURE)),
    ("name", "I don't know", {}, N(Why.UNSURE)),
    ("name", "", {}, N(Why.NOTHING_SAID)),
    # Review 14b finding 13: the first name, not the last; a name's apostrophe kept.
    ("name", "my first name is Jane and my last name is Doe", {}, V("Jane")),
    ("name", "my first name's Jane and my last name's Doe", {}, V("Jane")),
    ("name", "my last name is Doe and my first name is Jane", {}, V("Jane")),
    ("name", "first name Jane last name Doe", {}, V("Jane")),
    ("name", "my last name is Doe", {}, N(Why.NOT_A_VALUE)),
    ("name", "my name's O'Brien", {}, V("O'Brien")),
    ("name", "o'brien", {}, V("O'Brien")),
    ("name", "D’Angelo", {}, V("D'Angelo")),
]

# bt14-s26 SHOULD-FIX 6 and NIT 9 (fix14-days): said on Wednesday 2 December 2026, 10:00 in New York. Each example of
# the report, then variants of its kind.
DEC_2 = dt.datetime(2026, 12, 2, 15, 0, tzinfo=dt.UTC)
EARLY = t(10, 0, bound=Bound.BEFORE)  # "first thing": before 10 AM


def dec(month: int, day: int, year: int = 2026) -> dt.date:
    return dt.date(year, month, day)


ROWS += [(kind, said, {"now": DEC_2} if kind == "day" else {}, expected) for kind, said, expected in [
    # the weekend after next weekend's, never this one
    ("day", "the weekend after next", V(span(dec(12, 12), dec(12, 13)))),
    ("day", "weekend after next", V(span(dec(12, 12), dec(12, 13)))),
    ("day", "can I come the weekend after next", V(span(dec(12, 12), dec(12, 13)))),
    ("day", "the weekend after next in the morning", V(span(dec(12, 12), dec(12, 13), part(PartOfDay.MORNING)))),
    # the nth (or last) weekday of a month; the nth day of this or next month
    ("day", "the last Friday of the month", V(span(dec(12, 25)))),
    ("day", "the last Friday of this month", V(span(dec(12, 25)))),
    ("day", "the last Monday of December", V(span(dec(12, 28)))),
    ("day", "the first Monday of January", V(span(dec(1, 4, 2027)))),
    ("day", "first Monday in January", V(span(dec(1, 4, 2027)))),
    ("day", "the second Tuesday of January", V(span(dec(1, 12, 2027)))),
    ("day", "the first Monday of next month", V(span(dec(1, 4, 2027)))),
    ("day", "the 3rd Thursday of December", V(span(dec(12, 17)))),
    ("day", "the fifth Monday of February", A(Why.NO_SUCH_DATE)),
    ("day", "the fifteenth of this month", V(span(dec(12, 15)))),
    ("day", "the 15th of next month", V(span(dec(1, 15, 2027)))),
    ("day", "the twentieth of the month", V(span(dec(12, 20)))),
    # days counted before or after a holiday (or any day), and the weekday before or after one
    ("day", "two days after Christmas", V(span(dec(12, 27)))),
    ("day", "three days before Christmas", V(span(dec(12, 22)))),
    ("day", "a couple of days after Christmas", V(span(dec(12, 27)))),
    ("day", "ten days before Christmas", V(span(dec(12, 15)))),
    ("day", "3 days after New Year's Day", V(span(dec(1, 4, 2027)))),
    ("day", "two weeks after Christmas", V(span(dec(1, 8, 2027)))),
    ("day", "two days before Friday", V(span(dec(12, 2)))),
    ("day", "the Monday after Thanksgiving", V(span(dec(11, 29, 2027)))),  # this year's is past
    ("day", "the Friday before Christmas", V(span(dec(12, 18)))),
    ("day", "the Tuesday after New Year", V(span(dec(1, 5, 2027)))),
    ("day", "the Wednesday before Christmas Eve", V(span(dec(12, 23)))),
    ("day", "the Monday after Christmas", V(span(dec(12, 28)))),
    ("day", "the day after Christmas", V(span(dec(12, 26)))),  # unchanged around them
    ("day", "after Christmas", V(span(dec(12, 26), dec(1, 22, 2027)))),
    # "first thing": early on the day, never the 1st of a month
    ("day", "first thing tomorrow", V(span(dec(12, 3), time=EARLY))),
    ("day", "first thing Monday", V(span(dec(12, 7), time=EARLY))),
    ("day", "tomorrow first thing in the morning", V(span(dec(12, 3), time=EARLY))),
    ("day", "Monday first thing", V(span(dec(12, 7), time=EARLY))),
    ("day", "first thing on Friday", V(span(dec(12, 4), time=EARLY))),
    ("time", "first thing", V(EARLY)),
    ("time", "first thing in the morning", V(EARLY)),
    # a count said in words is a count, as in digits
    ("day", "in ten days", V(span(dec(12, 12)))),
    ("day", "in twelve days", V(span(dec(12, 14)))),
    ("day", "in 10 days", V(span(dec(12, 12)))),
    ("day", "in twenty one days", V(span(dec(12, 23)))),
    ("day", "in eleven days", V(span(dec(12, 13)))),
    ("day", "in ten weeks", V(span(dec(2, 10, 2027)))),
    # the week of a date; a part of the week (of next week once this one's is over)
    ("day", "the week of December 14th", V(span(dec(12, 14), dec(12, 20)))),
    ("day", "the week of the 14th", V(span(dec(12, 14), dec(12, 20)))),
    ("day", "week of december 21", V(span(dec(12, 21), dec(12, 27)))),
    ("day", "the week of January 4th", V(span(dec(1, 4, 2027), dec(1, 10, 2027)))),
    ("day", "early in the week", V(span(dec(12, 2)))),
    ("day", "late in the week", V(span(dec(12, 3), dec(12, 4)))),
    ("day", "the middle of the week", V(span(dec(12, 2), dec(12, 3)))),
    # nit 9: two times offered are asked about (both kept); a bound each side is a range; "on the dot" is at
    ("time", "three or four", A(Why.SEVERAL, t(15), t(16))),
    ("time", "3 or 4", A(Why.SEVERAL, t(15), t(16))),
    ("time", "ten or eleven", A(Why.SEVERAL, t(10), t(11))),
    ("time", "maybe 2 or 3", A(Why.SEVERAL, t(14), t(15))),
    ("time", "two or three pm", A(Why.SEVERAL, t(14), t(15))),  # not 3 PM alone
    ("time", "3 or later", V(t(15, bound=Bound.AFTER))),  # unchanged: a bound
    ("time", "after 6 but before 8", V(between(18, 20))),
    ("time", "after 6 and before 8", V(between(18, 20))),
    ("time", "before 8 but after 6", V(between(18, 20))),
    ("time", "after 6pm but before 8pm", V(between(18, 20))),
    ("time", "after 5:30 but before 7", V(SpokenTime(dt.time(17, 30), None, Bound.AT, dt.time(19)))),
    ("time", "nine on the dot", V(t(9))),
    ("time", "9 on the dot", V(t(9))),
    ("time", "at three on the dot", V(t(15))),
    ("time", "10 am on the dot", V(t(10))),
    # "a week later": counted from the day being moved; nothing to count from, asked
    ("day", "a week later", A(Why.VAGUE)),
]]
# fix14-left gap 3: days offered with "or" are the days a caller would take (parse_days), earliest first; a time said
# once goes with each, a time said with each stays its own; Thursday said on a Thursday is today or a week today.
ROWS += [("days", said, {}, expected) for said, expected in [
    ("Tuesday or Wednesday", V((span(d(6, 10)), span(d(6, 11))))),
    ("Tuesday, or Wednesday", V((span(d(6, 10)), span(d(6, 11))))),
    ("Wednesday or Tuesday", V((span(d(6, 10)), span(d(6, 11))))),
    ("either Tuesday or Thursday", V((span(d(6, 5)), span(d(6, 10)), span(d(6, 12))))),
    ("Monday or Friday afternoon", V((span(d(6, 6), None, part(PartOfDay.AFTERNOON)),
                                      span(d(6, 9), None, part(PartOfDay.AFTERNOON))))),
    ("Tuesday morning or Wednesday afternoon", V((span(d(6, 10), None, part(PartOfDay.MORNING)),
                                                  span(d(6, 11), None, part(PartOfDay.AFTERNOON))))),
    ("Tuesday at 9 or Wednesday at 3", V((span(d(6, 10), None, t(9)), span(d(6, 11), None, t(15))))),
    ("Tuesday or the day after", V((span(d(6, 10)), span(d(6, 11))))),
    ("next Tuesday", V((span(d(6, 10)),))),  # one day: a tuple of one
    ("next year", A(Why.VAGUE)),  # not understood: as parse_day
    ("Tuesday or next year", A(Why.SEVERAL, (span(d(6, 10)),))),  # one not read: as parse_day reads the whole
]]

# bt14-s27 (fix14-values): four digits said one at a time are no whole date (a PIN, a code, a year); a year read out in
# full; "that is it" is a yes; a leading "to" before an hour is no "two"; a bare hour after "move it to".
ROWS += [
    ("date", "two four six eight", {"purpose": BIRTH}, A(Why.NO_MONTH)),  # SHOULD-FIX 4: was February 4, 1968
    ("date", "one two three four", {"purpose": BIRTH}, A(Why.NO_MONTH)),
    ("date", "2 4 6 8", {"purpose": BIRTH}, A(Why.NO_MONTH)),
    ("date", "one nine eight five", {"purpose": BIRTH}, A(Why.NO_MONTH)),  # a year, was January 9, 1985
    ("date", "oh four one five", {"purpose": BIRTH}, A(Why.NO_YEAR)),  # April 15, padded
    ("date", "one one oh five", {"purpose": BIRTH}, V(dt.date(2005, 1, 1))),  # unchanged: "oh five" is a year
    ("date", "oh four one five eight five", {"purpose": BIRTH}, V(APRIL_15)),  # unchanged: six digits
    ("date", "four one five eight five", {"purpose": BIRTH}, V(APRIL_15)),  # unchanged: five digits
    ("date", "april fifteen one thousand nine hundred eighty five", {"purpose": BIRTH}, V(APRIL_15)),  # nit 6
    ("date", "April 15th, one thousand nine hundred and eighty five", {"purpose": BIRTH}, V(APRIL_15)),
    ("date", "4 15 one thousand nine hundred eighty five", {"purpose": BIRTH}, V(APRIL_15)),
    ("yes_no", "that is it", {}, V(True)),  # nit 6
    ("yes_no", "yes that is it", {}, V(True)),
    ("time", "to ten thirty", {}, V(t(10, 30))),  # nit 1: was 2:10
    ("time", "at ten thirty", {}, V(t(10, 30))),
    ("time", "at for thirty", {}, V(t(16, 30))),  # unchanged: "for thirty" is 4:30
]



def _read(kind: str, said: str, options: dict) -> Reading:
    options = dict(options)
    if kind == "date":
        return parse_date(said, today=TODAY, **options)
    if kind == "keyed":
        return parse_keyed_date(said, today=TODAY, **options)
    if kind == "time":
        return parse_time(said, **options)
    if kind == "day":
        return parse_day(said, now=options.pop("now", NOW), tz=NY, **options)
    if kind == "days":
        return parse_days(said, now=options.pop("now", NOW), tz=NY, **options)
    if kind == "digits":
        return parse_digits(said, **options)
    if kind == "phone":
        return parse_phone(said, **options)
    if kind == "name":
        return parse_first_name(said)
    return parse_yes_no(said)


@pytest.mark.parametrize(("kind", "said", "options", "expected"), ROWS,
                         ids=[f"{r[0]}:{r[1] or '(nothing)'}:{r[2]}" if r[2] else f"{r[0]}:{r[1] or '(nothing)'}"
                              for r in ROWS])
def test_spoken_values(kind: str, said: str, options: dict, expected: Reading) -> None:
    assert _read(kind, said, options) == expected


def test_the_table_has_at_least_150_rows_with_refusals() -> None:
    assert len(ROWS) >= 150
    assert sum(1 for r in ROWS if r[3].outcome is Outcome.AMBIGUOUS) >= 20


def test_reading_flags() -> None:
    assert V(1).ok and not V(1).ambiguous
    assert A(Why.ORDER).ambiguous and not A(Why.ORDER).ok
    assert not N(Why.NOT_A_VALUE).ok and not N(Why.NOT_A_VALUE).ambiguous


def test_relative_days_need_an_aware_reference() -> None:
    with pytest.raises(ValueError, match="aware"):
        parse_day("tomorrow", now=dt.datetime(2025, 6, 5, 11, 0), tz=NY)


@pytest.mark.parametrize(
    ("said", "days", "times"),
    [
        ("I need to move my Thursday appointment to next week", ["thursday", "next week"], []),
        ("can I come at 3pm instead", [], ["3 pm"]),
        ("move my 3 pm on Friday to Tuesday at half past four", ["friday", "tuesday"], ["3 pm", "half past four"]),
        ("what time is my appointment", [], []),
        ("can we do Friday the 5th, no wait, Saturday", ["friday the 5th no wait saturday"], []),
        ("Friday December 5th at 3", ["friday december 5th"], ["3"]),
        # review 14b findings 1 and 2: a weekday with its week, and a date alone, are one mention each
        ("reschedule to Wednesday next week", ["wednesday next week"], []),
        ("reschedule to next week on Wednesday", ["next week on wednesday"], []),
        ("move my appointment on December 8th to Thursday", ["december 8th", "thursday"], []),
        ("cancel my appointment on the 8th", ["the 8th"], []),
        ("my appointment on june 12th", ["june 12th"], []),
        ("my appointment on december eighth", ["december eighth"], []),
        # the written date's numbers still read as a time alone; request_details drops times inside a day
        ("move it from the twenty fifth of June to 6/30", ["the twenty fifth of june", "6/30"], ["6 30"]),
        ("my appointment on 12/8", ["12/8"], []),
        ("may I move my appointment", [], []),  # a month word alone is no date
        ("the first one", [], []),  # an option, not the 1st
        # issue 14 gap: months, holidays, bounds and counted days are one mention each
        ("can I come the day after Christmas or in early January", ["the day after christmas", "early january"], []),
        ("move it to after Thanksgiving", ["after thanksgiving"], []),
        ("between Christmas and New Year please", ["between christmas and new year"], []),
        ("the first week of March at 3pm", ["the first week of march"], ["3 pm"]),
        ("Monday week or in a fortnight", ["monday week", "in a fortnight"], []),
    ],
)
def test_mentions_in_a_sentence(said: str, days: list[str], times: list[str]) -> None:
    assert [m.words for m in day_mentions(said)] == days
    assert [m.words for m in time_mentions(said)] == times


# ---------------------------------------------------------------------- <Gather> hints


def test_gather_hints_per_kind() -> None:
    assert gather_hints(AnswerKind.YES_NO) == GatherHints(
        ("yes", "no", "yeah", "nope", "that's right", "that's not right", "correct"), "numbers_and_commands", False)
    assert gather_hints(AnswerKind.DATE).hints[:3] == ("January", "February", "March")
    assert gather_hints(AnswerKind.DATE).speech_model == "numbers_and_commands"
    assert gather_hints(AnswerKind.MENU) == GatherHints((), "phone_call", True)
    assert gather_hints(AnswerKind.NAME) == GatherHints((), "phone_call", True)
    # A best time to call back (intake's type: when): weekday hints as well as time hints (bt14 s24 nit 7).
    when = gather_hints(AnswerKind.WHEN).hints
    assert {"Monday", "Friday", "weekdays", "weekends", "morning", "evening", "p.m.", "after work"} <= set(when)


@pytest.mark.parametrize("kind", list(AnswerKind))
def test_every_kind_uses_a_documented_generic_model(kind: AnswerKind) -> None:
    hints = gather_hints(kind, "en-US")
    assert hints.speech_model in GENERIC_SPEECH_MODELS
    assert hints.speech_model in SPEECH_MODELS
    # Twilio's enhanced flag only changes the phone_call model
    assert hints.enhanced == (hints.speech_model == "phone_call")
    assert all(0 < len(h) <= 100 for h in hints.hints)  # Twilio caps one hint at 100 characters


def test_other_languages_leave_the_model_to_twilio() -> None:
    assert gather_hints(AnswerKind.DATE, "es-MX") == GatherHints((), None, False)


@pytest.mark.parametrize(("name", "year", "day"), [
    ("thanksgiving", 2024, dt.date(2024, 11, 28)), ("thanksgiving", 2025, dt.date(2025, 11, 27)),
    ("thanksgiving", 2026, dt.date(2026, 11, 26)), ("easter", 2024, dt.date(2024, 3, 31)),
    ("easter", 2025, dt.date(2025, 4, 20)), ("easter", 2026, dt.date(2026, 4, 5)),
    ("memorial_day", 2025, dt.date(2025, 5, 26)), ("memorial_day", 2026, dt.date(2026, 5, 25)),
    ("labor_day", 2026, dt.date(2026, 9, 7)), ("mlk_day", 2025, dt.date(2025, 1, 20)),
    ("presidents_day", 2026, dt.date(2026, 2, 16)), ("columbus_day", 2025, dt.date(2025, 10, 13)),
    ("christmas", 2030, dt.date(2030, 12, 25)), ("juneteenth", 2026, dt.date(2026, 6, 19)),
])
def test_us_holidays_are_computed_for_each_year(name: str, year: int, day: dt.date) -> None:
    assert holiday(name, year) == (day, day)


@pytest.mark.parametrize(("said", "day"), [
    ("a week today", dt.date(2026, 12, 8)), ("today week", dt.date(2026, 12, 8)),
    ("fortnight today", dt.date(2026, 12, 15)), ("a week tomorrow", dt.date(2026, 12, 9)),
])
def test_fix14bt_a_week_or_fortnight_after_today_or_tomorrow(said: str, day: dt.date) -> None:
    # the break-tester's examples, said on Tuesday 1 December 2026
    now = dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC)
    assert parse_day(said, now=now, tz=NY) == V(span(day))


@pytest.mark.parametrize(("said", "day"), [
    ("three days from now", dt.date(2026, 12, 5)), ("two days from now", dt.date(2026, 12, 4)),
    ("3 days from now", dt.date(2026, 12, 5)), ("five days from now", dt.date(2026, 12, 7)),
    ("ten days from now", dt.date(2026, 12, 12)), ("a few days from now", dt.date(2026, 12, 5)),
    ("a couple days from now", dt.date(2026, 12, 4)), ("a couple of days from now", dt.date(2026, 12, 4)),
    ("three days from today", dt.date(2026, 12, 5)), ("two days from tomorrow", dt.date(2026, 12, 5)),
    ("a day from now", dt.date(2026, 12, 3)), ("fifteen days from today", dt.date(2026, 12, 17)),
    ("can I come in four days from now", dt.date(2026, 12, 6)),
    # unchanged around them
    ("in three days", dt.date(2026, 12, 5)), ("a week from now", dt.date(2026, 12, 9)),
    ("two weeks from now", dt.date(2026, 12, 16)), ("a week from tomorrow", dt.date(2026, 12, 10)),
])
def test_bt14s25b_days_counted_from_now_today_or_tomorrow(said: str, day: dt.date) -> None:
    """bt14-s25b S3: "N days from now|today|tomorrow" is that many days on, never today (said Wed 2 Dec 2026)."""
    now = dt.datetime(2026, 12, 2, 10, 0, tzinfo=NY)
    assert parse_day(said, now=now, tz=NY) == V(span(day))


@pytest.mark.parametrize("said", [
    "april fifteen nineteen eighty five or nineteen eighty six", "april 15 1985 or 1986", "april 15 85 or 86",
    "april 15 1985 maybe 1986", "april 15 1985 or was it 1986", "april 15 or 16 1985",
    "april fifteenth or sixteenth nineteen eighty five", "4 15 or 4 16 1985",
])
def test_two_dates_or_years_offered_in_one_answer_are_several(said: str) -> None:
    """bt14-s24 S4: a hedged answer is never read as its first date, nor asked for a year it said."""
    reading = _read("date", said, {"purpose": BIRTH})
    assert (reading.outcome, reading.why) == (Outcome.AMBIGUOUS, Why.SEVERAL)


@pytest.mark.parametrize(("said", "expected"), [
    ("4 15 16", A(Why.TWO_DIGIT_YEAR, dt.date(1916, 4, 15), dt.date(2016, 4, 15))),  # 1916: an age of 110
    ("4 15 17", A(Why.TWO_DIGIT_YEAR, dt.date(1917, 4, 15), dt.date(2017, 4, 15))),
    ("4 15 15", V(dt.date(2015, 4, 15))),  # 1915-04-15 would be 111
    ("12 25 16", A(Why.TWO_DIGIT_YEAR, dt.date(1916, 12, 25), dt.date(2016, 12, 25))),  # 109 on 2 December
])
def test_bt14_s25_two_digit_birth_years_at_the_age_bound(said: str, expected: Reading) -> None:
    """The break-tester's rows, said on 2 December 2026: the rule is the same at 110 as at 109."""
    assert parse_date(said, today=dt.date(2026, 12, 2), purpose=BIRTH) == expected


@pytest.mark.parametrize(("said", "day"), [
    ("a week later", dt.date(2026, 12, 10)), ("one week later", dt.date(2026, 12, 10)),
    ("two days later", dt.date(2026, 12, 5)), ("a couple of days later", dt.date(2026, 12, 5)),
    ("two weeks later", dt.date(2026, 12, 17)), ("a day earlier", dt.date(2026, 12, 2)),
])
def test_bt14s26_a_shift_counts_from_the_day_being_moved(said: str, day: dt.date) -> None:
    """bt14-s26 nit 9 ("push it back a week"): from the appointment (Thursday 3 December), said on 2 December 2026."""
    assert parse_day(said, now=DEC_2, tz=NY, anchor=dt.date(2026, 12, 3)) == V(span(day))


@pytest.mark.parametrize(("said", "expected"), [
    # bt14-s27 SHOULD-FIX 4: a PIN said at the date-of-birth prompt ("press star, then your PIN")
    ("star two four six eight", V("2468")),
    ("star two four six eight pound", V("2468")),
    ("my pin is two four six eight", V("2468")),
    ("PIN 2468", V("2468")),
    ("P I N 2468", V("2468")),
    ("asterisk 2 4 6 8", V("2468")),
    ("my PIN is one two three four five six seven eight", V("12345678")),
    ("star two four", N(Why.WRONG_LENGTH)),
    ("star one two three four five six seven eight nine", N(Why.WRONG_LENGTH)),
    ("my pin is", N(Why.NOT_A_VALUE)),
    ("I don't remember my pin", N(Why.NOT_A_VALUE)),
    ("April 15 1985", None),
    ("two four six eight", None),
    ("", None),
])
def test_a_pin_said(said: str, expected: Reading | None) -> None:
    assert spoken_pin(said) == expected


@pytest.mark.parametrize(("said", "own"), [
    # bt14-s27 SHOULD-FIX 6: the number the caller is calling from, named rather than said
    ("this number", True),
    ("the number I'm calling from", True),
    ("you can call me at this number", True),
    ("same number", True),
    ("this one", True),
    ("the one I'm calling from", True),
    ("it's the number I called from", True),
    ("this is my cell", True),
    ("not this number", False),
    ("a different number", False),
    ("call me on another number", False),
    ("five five five two three four five six seven eight", False),
    ("this number is 555 234 5678", False),
    ("mornings", False),
    ("", False),
])
def test_the_callers_own_number_named(said: str, own: bool) -> None:
    assert says_own_number(said) is own


@pytest.mark.parametrize(("said", "mentions"), [
    # bt14-s27 SHOULD-FIX 3: a bare hour after "move it to" is a time; a count or "talk to one" is none
    ("move it to eleven", ["eleven"]),
    ("switch to four", ["four"]),
    ("push it back to three", ["three"]),
    ("can you change it to 4", ["4"]),
    ("move it to three weeks from now", []),
    ("I need to talk to one of the staff", []),
    ("I want to come to two sessions", []),
])
def test_a_bare_hour_moved_to(said: str, mentions: list[str]) -> None:
    assert [m.words for m in time_mentions(said)] == mentions
