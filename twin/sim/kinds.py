"""The sensor-kind catalogue: name, unit and alert texts of every kind, in vi and en.

One place for what a kind *is*, so the scene parser (default unit), the sensors
panel, legends and alert texts agree, and the Vietnamese UI never shows
``water_pressure`` or an English alert. twin has no Qt translator, so the texts
live here as a small catalogue (the pattern of :mod:`twin.render.legend_model`).

``lower_is_worse`` is documentation for scene authors: it is the sign a kind's
thresholds usually take (``alarm < warning`` in the scene file decides).
"""

from __future__ import annotations

from dataclasses import dataclass

LANGS = ("en", "vi")


@dataclass(frozen=True)
class Kind:
    """One sensor kind. Text pairs are (English, Vietnamese)."""

    key: str
    unit: str
    name: tuple[str, str]
    #: what a warning / an alarm of this kind means to an operator
    warning: tuple[str, str]
    alarm: tuple[str, str]
    lower_is_worse: bool = False
    #: the decree domain the kind belongs to (grouping in panels and legends)
    domain: str = "environment"


def _k(key: str, unit: str, name: tuple[str, str], warning: tuple[str, str],
       alarm: tuple[str, str], lower: bool = False, domain: str = "environment") -> Kind:
    return Kind(key, unit, name, warning, alarm, lower, domain)


#: key -> Kind, in display order. Kinds follow the provinces' plans (Decree 269 pilots).
KINDS: dict[str, Kind] = {k.key: k for k in (
    _k("air_quality", "AQI", ("Air quality", "Chất lượng không khí"),
       ("Poor air quality", "Không khí kém"), ("Bad air quality", "Không khí xấu")),
    _k("noise", "dB(A)", ("Noise", "Tiếng ồn"),
       ("Noise above the limit", "Tiếng ồn vượt giới hạn"),
       ("Noise far above the limit", "Tiếng ồn vượt xa giới hạn")),
    _k("traffic", "veh/h", ("Traffic flow", "Lưu lượng giao thông"),
       ("Heavy traffic", "Giao thông đông"), ("Congestion", "Ùn tắc giao thông"),
       domain="transport"),
    _k("parking", "%", ("Parking occupancy", "Tỷ lệ lấp đầy bãi đỗ xe"),
       ("Car park nearly full", "Bãi đỗ xe sắp đầy"), ("Car park full", "Bãi đỗ xe đã đầy"),
       domain="transport"),
    _k("ev_charger", "%", ("EV charger occupancy", "Tỷ lệ sử dụng trạm sạc xe điện"),
       ("EV chargers nearly all busy", "Trạm sạc xe điện gần hết cổng trống"),
       ("EV chargers all busy, queueing", "Trạm sạc xe điện hết cổng, xe phải chờ"),
       domain="transport"),
    _k("ev_power", "kW", ("EV charging power", "Công suất sạc xe điện"),
       ("EV charging power near the connection limit",
        "Công suất sạc gần giới hạn đấu nối"),
       ("EV charging power over the connection limit",
        "Công suất sạc vượt giới hạn đấu nối"), domain="energy"),
    _k("street_light", "%", ("Street light", "Đèn chiếu sáng công cộng"),
       ("Street light dimmed", "Đèn đường giảm sáng"), ("Street light out", "Đèn đường tắt"),
       domain="energy"),
    _k("energy", "kW", ("Power demand", "Công suất tiêu thụ điện"),
       ("High power demand", "Phụ tải điện cao"), ("Power demand over the limit",
                                                    "Phụ tải điện vượt giới hạn"),
       domain="energy"),
    _k("solar", "kW", ("Rooftop solar", "Điện mặt trời mái nhà"),
       ("Low solar output", "Sản lượng điện mặt trời thấp"),
       ("Solar output lost", "Mất sản lượng điện mặt trời"), True, "energy"),
    _k("water_meter", "L/h", ("Water meter", "Đồng hồ nước"),
       ("High water use", "Tiêu thụ nước cao"), ("Very high water use", "Tiêu thụ nước rất cao"),
       domain="water"),
    _k("water_pressure", "bar", ("Water supply pressure", "Áp lực nước cấp"),
       ("Low supply pressure", "Áp lực nước cấp thấp"),
       ("Supply pressure too low or falling fast (burst main?)",
        "Áp lực nước cấp quá thấp hoặc sụt nhanh (vỡ ống?)"), True, "water"),
    _k("water_flow", "m³/h", ("District meter inflow", "Lưu lượng vào vùng đồng hồ tổng"),
       ("Suspected leak: night minimum flow above normal",
        "Nghi rò rỉ: lưu lượng đêm tối thiểu cao hơn bình thường"),
       ("Leak: night minimum flow far above normal",
        "Rò rỉ: lưu lượng đêm tối thiểu cao bất thường"), domain="water"),
    _k("water_quality", "NTU", ("Water turbidity", "Độ đục của nước"),
       ("Turbid water", "Nước đục"), ("Water unsafe (turbidity)", "Nước không an toàn (độ đục)"),
       domain="water"),
    _k("water_level", "m", ("River water level", "Mực nước sông"),
       ("Flood warning: river level high", "Cảnh báo lũ: mực nước sông cao"),
       ("Flood alarm: river over the bank", "Báo động lũ: nước sông tràn bờ"),
       domain="drainage"),
    _k("manhole_level", "m", ("Manhole water level", "Mực nước hố ga"),
       ("Sewer running full", "Cống thoát nước đầy"),
       ("Manhole surcharging: street flooding", "Hố ga tràn: ngập đường phố"),
       domain="drainage"),
    _k("rain_gauge", "mm/h", ("Rainfall intensity", "Cường độ mưa"),
       ("Heavy rain", "Mưa to"), ("Very heavy rain", "Mưa rất to"), domain="drainage"),
    _k("waste", "%", ("Waste bin fill", "Mức đầy thùng rác"),
       ("Bin nearly full", "Thùng rác sắp đầy"), ("Bin full", "Thùng rác đã đầy")),
)}

#: kind -> default unit (what ``[[sensors]] kind`` accepts)
UNITS: dict[str, str] = {key: k.unit for key, k in KINDS.items()}

DOMAINS: dict[str, tuple[str, str]] = {
    "environment": ("Environment", "Môi trường"),
    "transport": ("Transport", "Giao thông"),
    "energy": ("Energy", "Năng lượng"),
    "water": ("Water supply", "Cấp nước"),
    "drainage": ("Drainage and flooding", "Thoát nước và ngập lụt"),
}

#: alert level names as :mod:`twin.sim.overlays.alerts` records them
LEVELS: dict[str, tuple[str, str]] = {
    "no data": ("no data", "không có dữ liệu"),
    "normal": ("normal", "bình thường"),
    "warning": ("warning", "cảnh báo"),
    "alarm": ("alarm", "báo động"),
}

#: history rules behind an alert (twin.sim.rules)
RULES: dict[str, tuple[str, str]] = {
    "night minimum flow": ("night minimum flow", "lưu lượng đêm tối thiểu"),
    "pressure drop": ("pressure drop", "sụt áp đột ngột"),
}

#: units whose text differs in Vietnamese
_UNITS_VI = {"veh/h": "xe/giờ", "L/h": "L/giờ", "m³/h": "m³/giờ", "mm/h": "mm/giờ"}


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[1] if lang == "vi" else pair[0]


def kind_name(kind: str, lang: str = "en") -> str:
    """Display name of a kind; an unknown kind comes back as it is."""
    k = KINDS.get(str(kind))
    return _pick(k.name, lang) if k is not None else str(kind)


def unit_text(unit: str, lang: str = "en") -> str:
    """A unit as the language writes it (``veh/h`` is ``xe/giờ``)."""
    return _UNITS_VI.get(str(unit), str(unit)) if lang == "vi" else str(unit)


def rule_name(rule: str, lang: str = "en") -> str:
    return _pick(RULES[rule], lang) if rule in RULES else str(rule)


def level_name(level: str, lang: str = "en") -> str:
    return _pick(LEVELS[level], lang) if level in LEVELS else str(level)


def alert_text(kind: str, level: str, lang: str = "en") -> str:
    """What a warning or alarm of ``kind`` means ("Low supply pressure"); for
    other levels the level's name."""
    k = KINDS.get(str(kind))
    if k is None or level not in ("warning", "alarm"):
        return level_name(level, lang)
    return _pick(k.warning if level == "warning" else k.alarm, lang)


def domain_name(kind: str, lang: str = "en") -> str:
    k = KINDS.get(str(kind))
    return _pick(DOMAINS[k.domain], lang) if k is not None else ""
