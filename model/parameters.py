"""The scenario schema: every parameter the model reads, with its unit, default, range and source.

The schema is the single place parameters are documented; `docs/ODD.md`'s parameter tables are generated
from it (`python -m model.parameters --markdown`), so the documentation cannot drift from the code.
Unknown keys are refused everywhere (``extra="forbid"``) so a typo never silently falls back to a default.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def P(default: Any, unit: str, lo: float | None, hi: float | None, source: str, **kw: Any) -> Any:
    """A documented parameter: range enforced by pydantic, unit and source kept for the docs."""
    extra = {"unit": unit, "range": [lo, hi], "source": source}
    bounds: dict[str, Any] = {}
    if lo is not None:
        bounds["ge"] = lo
    if hi is not None:
        bounds["le"] = hi
    return Field(default, json_schema_extra=extra, description=source, **bounds, **kw)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def month_index(text: str) -> int:
    """'2014-01' -> months since year 0, so differences are month counts."""
    m = MONTH_RE.match(text)
    if not m:
        raise ValueError(f"expected a month as 'YYYY-MM', got {text!r}")
    return int(m.group(1)) * 12 + int(m.group(2)) - 1


def _check_month(v: str) -> str:
    month_index(v)
    return v


class TimeParams(Strict):
    start: str = P("2009-01", "YYYY-MM", None, None, "First simulated month: start of ONS's first HLE period 2009-11.")
    end: str = P("2025-12", "YYYY-MM", None, None, "Last simulated month (inclusive).")
    burn_in_years: int = P(3, "years", 0, 20, "Years simulated before `start` under pre-Deal rules and not recorded, so care settings and community groups settle into the rules' own equilibrium (ODD: initialisation).")

    _m = field_validator("start", "end")(classmethod(lambda cls, v: _check_month(v)))

    @model_validator(mode="after")
    def _order(self) -> "TimeParams":
        if month_index(self.end) < month_index(self.start):
            raise ValueError(f"end ({self.end}) is before start ({self.start})")
        return self


class PopulationParams(Strict):
    age_sex_table: str | None = P("wigan_census2011_age_sex.csv", "file", None, None, "Census 2011 usual residents by sex and 5-year band (CENSUS_GM). A bare name is looked up in the package's data folder, a relative path beside the scenario file.")
    total: int | None = P(None, "persons", 1, 20_000_000, "Total population when no age table is given (council template).")
    share_65_plus: float | None = P(None, "fraction", 0.0, 1.0, "Share aged 65+ when no age table is given.")
    wards: int = P(25, "wards", 1, 200, "Wigan has 25 electoral wards (MODEL_BRIEF s.2).")
    service_areas: int = P(7, "areas", 1, 50, "Place-based service areas grouping wards; 7 is a prior (Wigan's place-based footprints; not in the shared data).")
    share_lsoas_most_deprived_decile: float = P(0.165, "fraction", 0.0, 1.0, "Share of LSOAs in England's most deprived decile, IoD 2019 (IOD): 0.165 Wigan, 0.10 England by definition.")
    births_per_1000: float = P(11.5, "per 1,000 residents per year", 5.0, 20.0, "Prior: England's crude birth rate about 12 in 2011; range covers English boroughs. Not in the shared data.")
    net_migration_per_1000: float = P(2.0, "per 1,000 residents per year", -10.0, 10.0, "Prior chosen so the population grows as Wigan's mid-year estimates do (317,849 in 2011, 322,022 in 2015, 328,662 in 2019; MYE).")
    male_share_births: float = P(0.512, "fraction", 0.4, 0.6, "About 105 boys are born for every 100 girls in England and Wales (ONS births): 105/205 = 0.512.")
    migrant_age_min: float = P(18.0, "years", 0.0, 100.0, "In-migrants arrive as young adults: youngest age (prior; net migration into boroughs like Wigan is mostly of adults under 40).")
    migrant_age_max: float = P(40.0, "years", 0.0, 100.0, "Oldest age of an in-migrant (prior, as above).")
    ward_noise_sd: float = P(0.25, "deprivation units (0-1 scale)", 0.0, 2.0, "Residents are ranked into wards by deprivation plus noise of this SD, so wards differ but overlap (prior; the shared data has no ward-level deprivation).")
    open_band_mean_years: float = P(5.0, "years", 0.5, 15.0, "Mean years lived beyond the start of the census's open top band (90+): exponential (prior; ONS national life tables give e90 about 4-5 years).")
    open_band_max_years: float = P(20.0, "years", 1.0, 40.0, "Cap on years beyond the open band's start (nobody is placed above 110; prior).")

    @model_validator(mode="after")
    def _source(self) -> "PopulationParams":
        if self.age_sex_table is None and (self.total is None or self.share_65_plus is None):
            raise ValueError("give either age_sex_table, or both total and share_65_plus")
        if self.age_sex_table is not None and (self.total is not None or self.share_65_plus is not None):
            raise ValueError("total and share_65_plus are used only without an age table: also set age_sex_table: null")
        if self.migrant_age_max < self.migrant_age_min:
            raise ValueError("migrant_age_max is below migrant_age_min")
        return self


class MortalityParams(Strict):
    modal_age_male: float = P(84.0, "years", 60.0, 100.0, "Gompertz modal age of death; UK 2011-13 is 86 (ONS NLT); set lower so Wigan's simulated LE is near 77.7 (LE_FT 2015-17).")
    modal_age_female: float = P(88.5, "years", 60.0, 100.0, "As above; UK 89, Wigan female LE 80.9 (LE_FT 2015-17).")
    gompertz_slope: float = P(0.105, "per year of age", 0.05, 0.15, "Rate of ageing of adult mortality; 0.08-0.12 in human life tables (prior).")
    infant_mortality: float = P(0.004, "probability in first year", 0.0, 0.02, "England infant mortality about 4 per 1,000 (prior).")
    background: float = P(0.0002, "per year", 0.0, 0.005, "Age-independent (Makeham) hazard: accidents and early deaths (prior).")
    frailty_log_hazard: float = P(0.45, "log hazard ratio per frailty SD", 0.1, 1.0, "Links individual frailty to mortality; sized so isolation (about 0.5 SD of frailty) gives HR about 1.25, between Holt-Lunstad 2015 OR 1.26-1.32 and Rico-Uribe 2018 HR 1.22.")
    care_home_multiplier: float = P(2.0, "hazard ratio", 1.0, 6.0, "Care-home residents die faster than their frailty alone implies: SMR nursing 419, residential 284 vs community (Age Ageing 2013, priors.yaml); part is already in frailty.")
    hospital_multiplier: float = P(4.0, "hazard ratio", 1.0, 20.0, "Extra mortality in a month spent in hospital after an emergency admission (prior).")


class HealthParams(Strict):
    age_slope_per_decade: float = P(0.36, "frailty SD per decade", 0.1, 1.0, "Sets how good health falls with age: E&W 81% good at all ages, about 50% at 65+, 25-31% at 85+ (ONS Census 2011, priors.yaml).")
    deprivation_effect: float = P(2.4, "frailty SD per unit deprivation", 0.0, 4.0, "Gap in frailty between the least and most deprived resident; sized so Wigan (more deprived) sits about 4 years of HLE below England in 2009-11 (HLE_ORIG).")
    threshold_male: float = P(2.55, "frailty SD", 0.0, 6.0, "Frailty above which a man reports health not good; set so England's HLE is about 63 (HLE_ORIG 2009-11).")
    threshold_female: float = P(2.52, "frailty SD", 0.0, 6.0, "As above for women; England female HLE about 64.")
    persistence_months: float = P(60.0, "months", 6.0, 240.0, "Autocorrelation time of individual frailty (AR(1)); prior: health states persist over years.")
    need_margin: float = P(0.9, "frailty SD above the good-health threshold", 0.0, 3.0, "Frailty at which daily living needs support (front door eligible); prior.")
    care_home_margin: float = P(2.1, "frailty SD above the good-health threshold", 0.5, 5.0, "Frailty at which a resident can be placed in a care home; prior set so 3.2% of 65+ live in care homes (ONS 2011, priors.yaml).")
    protection_months: float = P(12.0, "months", 1.0, 60.0, "Time for the protective effect of connection and support to build up or wear off (prior).")
    w_connectedness: float = P(0.5, "frailty SD per unit connectedness", 0.0, 1.5, "Isolated vs connected: OR 1.29 mortality (Holt-Lunstad 2015) = ln(1.29)/0.45 = 0.57 SD; shrunk for confounding. Calibrated (calibration/areas.yaml) from a half-normal prior at no effect, sd 0.3: the Deal acts through it.")
    w_volunteering: float = P(0.25, "frailty SD", 0.0, 1.0, "Volunteers' mortality RR 0.78 (0.66-0.90, Jenkinson 2013) = 0.55 SD; halved because it is observational. Calibrated (calibration/areas.yaml) from a half-normal prior at no effect, sd 0.15: experiments did not confirm the cohorts.")
    w_group: float = P(0.2, "frailty SD", -1.0, 1.0, "Joining one group: 24% lower depression relapse (Cruwys 2013); prior. Negative values (harm) are allowed so a calibration prior can put mass on them (calibration/areas.yaml: N(0, 0.1)).")
    w_self_help: float = P(0.15, "frailty SD at full trust and full campaign", -1.0, 1.0, "Citizen side of the Deal (look after your own health); Wigan smoking fell 30% to 15.6% (CONFED_2019) - prior, not causal. Negative values (harm: services stepping back further than residents can) are allowed.")
    w_reablement: float = P(0.5, "frailty SD, decaying", 0.0, 2.0, "Reablement cuts later social-care use by 60% over a year (Glendinning 2010); benefit lasts up to 2 years (SPRU).")
    w_home_care: float = P(0.2, "frailty SD", 0.0, 1.0, "Support received at home slows decline (prior).")
    care_home_min_age: float = P(65.0, "years", 0.0, 120.0, "Only residents this old are placed in care homes: younger adults' admissions are 2% of the older rate (14.6 vs 578-659 per 100,000, Nuffield Trust) and outside ASCOF 2A(2).")


class SocialParams(Strict):
    connectedness_base: float = P(0.55, "0-1 index", 0.0, 1.0, "Baseline connectedness; with the spread below about 6% are isolated (below 0.3), DCMS CLS 2017-18 'often lonely' 6%.")
    connectedness_sd: float = P(0.15, "0-1 index", 0.0, 0.5, "Spread of personal connectedness (prior).")
    connectedness_member: float = P(0.2, "0-1 index", 0.0, 0.5, "Gain in connectedness from a community group (prior).")
    connectedness_volunteer: float = P(0.1, "0-1 index", 0.0, 0.5, "Gain from volunteering (prior).")
    connectedness_deprivation: float = P(0.1, "0-1 index per unit deprivation", 0.0, 0.5, "Civic participation 34% most vs 48% least deprived (CLS 2016-17): a gradient (prior).")
    connectedness_months: float = P(6.0, "months", 1.0, 36.0, "Time for connectedness to adjust (prior).")
    volunteer_share: float = P(0.22, "fraction of adults 16+", 0.0, 1.0, "Formal volunteering at least monthly, England (DCMS CLS 2016-19).")
    volunteer_spell_months: float = P(24.0, "months", 3.0, 120.0, "Mean length of a volunteering spell (prior).")
    join_rate: float = P(0.002, "per month", 0.0, 0.05, "Rate at which a resident joins a local group unprompted, at full capacity and reference trust (prior).")
    membership_months: float = P(24.0, "months", 3.0, 120.0, "Mean length of group membership (prior).")
    campaign_volunteering: float = P(0.3, "relative increase at full campaign", 0.0, 2.0, "Citizen side of the Deal asks residents to volunteer; 965 new volunteers in CIF groups 2013-18 (LEIGH_CIF_2018); prior.")
    volunteering_deprivation: float = P(0.35, "relative change per unit deprivation", 0.0, 1.0, "Volunteering falls with deprivation: civic participation 34% in the most vs 48% in the least deprived areas (DCMS CLS 2016-17); 0.825/1.175 = 0.70 = 34/48.")
    isolation_threshold: float = P(0.3, "0-1 index", 0.0, 1.0, "Connectedness below which an adult counts as isolated; with the base and spread above about 6% are (DCMS CLS 2017-18 'often lonely' 6%).")


class TrustParams(Strict):
    base: float = P(0.4, "0-1 index", 0.0, 1.0, "Trust in the council without any signal (prior; no Wigan survey series in the shared data).")
    months: float = P(18.0, "months", 1.0, 120.0, "Time for trust to follow the council's conduct (prior).")
    w_tax: float = P(0.1, "0-1 index", 0.0, 0.5, "Visible reciprocity of a council-tax freeze (MODEL_BRIEF s.2.8; prior).")
    w_investment: float = P(0.15, "0-1 index at GBP 10 per resident per year", 0.0, 0.5, "Visible community investment in the ward (prior).")
    w_conversation: float = P(0.15, "0-1 index", 0.0, 0.5, "A strengths-based conversation in the last year (prior).")
    w_cuts: float = P(0.08, "0-1 index per 50% service cut", 0.0, 0.5, "Broken promises: visible cuts to other services (prior).")
    volunteering_elasticity: float = P(1.0, "ratio per unit relative trust", 0.0, 3.0, "How much trust raises volunteering and joining (prior).")
    investment_saturation_gbp: float = P(10.0, "GBP per resident per year", 0.1, 1000.0, "Community investment in the area stops raising trust beyond this much a head (prior: the fund was about GBP 5 a resident a year).")
    cuts_saturation: float = P(0.5, "share of other services cut", 0.01, 1.0, "Cuts beyond this share lower trust no further (prior).")
    conversation_memory_months: int = P(12, "months", 1, 120, "A strengths-based conversation raises trust for this long (prior).")


class StaffParams(Strict):
    per_1000_residents: float = P(1.25, "practitioners per 1,000 residents", 0.2, 5.0, "Front-door and adult social care practitioners represented as agents; about 400 in Wigan (prior; 4,500 frontline staff were trained across all services, SCIE_HALL_2016).")
    conversations_per_month: float = P(2.4, "new conversations per practitioner per month", 0.5, 20.0, "Capacity; sized so pressure is near 0.9 in 2009 (prior).")
    strengths_time_cost: float = P(1.2, "ratio", 1.0, 2.0, "A strengths-based conversation takes longer (Partners4Change Harrow: needed more staff time).")
    innovation_rate: float = P(0.03, "per month", 0.0, 0.3, "Bass p: adoption from own initiative when fully trained and permitted; Bass p 0.03 per year for products (Sultan 1990) is a lower bound for a supported programme.")
    imitation_rate: float = P(0.25, "per month", 0.0, 1.0, "Bass q: peer learning within a service area (Sultan 1990 q 0.38 per year; faster within teams, prior).")
    reversion_rate: float = P(0.01, "per month", 0.0, 0.3, "Drift back to assessment-led gate-keeping without pressure (prior).")
    reversion_pressure: float = P(0.15, "per month per unit excess caseload", 0.0, 1.0, "Caseload above capacity pushes staff back to gate-keeping (MODEL_BRIEF s.2.2).")
    training_rate: float = P(0.06, "share of untrained staff per month", 0.0, 1.0, "4,500 staff trained by 2016 (SCIE_HALL_2016): most within 2-3 years.")
    baseline_autonomy: float = P(0.3, "0-1 index", 0.0, 1.0, "Permission to innovate before the Deal (prior).")
    autonomy_months: float = P(12.0, "months", 1.0, 60.0, "Time for staff autonomy to follow leadership's permission (prior).")
    baseline_morale: float = P(0.5, "0-1 index", 0.0, 1.0, "Engagement before the Deal (normalised).")
    morale_autonomy: float = P(0.2, "0-1 index", 0.0, 1.0, "Engagement rose 18.5% 2013-16 in Wigan (KF_LGC); autonomy and purpose drive it (Humphrey 2007 R2 0.34).")
    morale_pressure: float = P(0.2, "0-1 index per unit excess caseload", 0.0, 1.0, "Pressure lowers engagement (prior; contrary union survey WT_UNISON_MORALE).")
    turnover_morale: float = P(0.3, "relative change per unit morale", 0.0, 1.0, "Engagement-turnover r = -0.30 (Harter 2002).")
    turnover_base: float = P(0.01, "per month", 0.0, 0.2, "Monthly leaving rate at baseline morale: about 12% a year, near social-work turnover in England (prior).")
    turnover_morale_span: float = P(0.5, "0-1 index", 0.05, 1.0, "Change in morale over which turnover falls by turnover_morale (prior).")
    skill_months: float = P(6.0, "months", 1.0, 60.0, "Time for a trained practitioner's skill to build (and an untrained one's to fade; prior).")
    min_skill: float = P(0.05, "0-1 index", 0.0, 1.0, "Skill below which a practitioner cannot adopt strengths-based practice (prior).")
    unskilled_reversion: float = P(0.05, "per month at zero skill", 0.0, 1.0, "Extra monthly reversion of a practitioner with little skill (prior).")
    morale_months: float = P(12.0, "months", 1.0, 60.0, "Time for morale to follow autonomy and pressure (prior).")
    existing_programme: float = P(0.0, "share of practitioners", 0.0, 1.0, "A council's own strengths-based programme (e.g. Three Conversations) before any Deal: this share of practitioners is trained in and practising strengths-based conversations when the recorded period starts, and the programme goes on at that intensity in both arms (the practice lever never falls below it). 0 = none, as in Wigan before the Deal.")
    initial_pressure: float = P(0.9, "demand / capacity", 0.0, 5.0, "Caseload pressure at the start, before the first month's conversations (the capacity prior sizes it near 0.9).")


class CommunityParams(Strict):
    groups_per_1000: float = P(1.2, "groups per 1,000 residents", 0.0, 10.0, "Voluntary and community groups able to support residents; 560 organisations funded in Wigan by 2018 (BWCN_DIFFERENCE) bounds it.")
    capacity_base: float = P(15.0, "residents supported", 0.0, 500.0, "Residents a group can support on its own (prior).")
    capacity_per_volunteer: float = P(3.0, "residents per volunteer", 0.0, 20.0, "Prior: Wigan CIF groups had 965 volunteers and diverted 4,175 residents (LEIGH_CIF_2018), about 4 per volunteer.")
    capacity_per_gbp_k: float = P(1.0, "residents per GBP 1,000 per year of grant", 0.0, 10.0, "Prior: GBP 10m supported 460,000 attendances (LEIGH_CIF_2018).")
    founding_per_100k: float = P(1.0, "new groups per 100,000 residents per month", 0.0, 20.0, "Prior chosen so the number of groups is steady without the fund.")
    closure_rate: float = P(0.008, "per month", 0.0, 0.2, "Base closure hazard (prior; about 10% a year).")
    closure_unfunded: float = P(1.0, "relative increase", 0.0, 10.0, "Extra closure risk for groups short of volunteers and without a grant (prior).")
    min_volunteers: int = P(3, "volunteers", 0, 50, "Below this a group struggles (prior).")
    mean_grant_gbp_k: float = P(18.0, "GBP thousands per grant (over 3 years)", 0.5, 500.0, "GBP 10m over more than 560 organisations (BWCN_DIFFERENCE), example GBP 76,000 over 3 years.")
    grant_taper: list[Annotated[float, Field(ge=0.0, le=1.0)]] = P([0.5, 0.3, 0.2], "share of the grant paid in years 1, 2, 3", None, None, "Three-year grants on a reducing scale (WIGAN_CIF); shares in [0, 1] adding up to 1.")
    new_group_share: float = P(0.3, "fraction of grants", 0.0, 1.0, "Share of grants that found a new group (prior).")
    referral_uptake: float = P(0.81, "probability", 0.0, 1.0, "Uptake after a social-prescribing referral, 2,047 referrals (Kimberlee 2016).")

    @field_validator("grant_taper")
    @classmethod
    def _taper(cls, v: list[float]) -> list[float]:
        if not v or any(x < 0 for x in v) or abs(sum(v) - 1.0) > 1e-6:
            raise ValueError("grant_taper must be non-negative shares that add up to 1")
        return v


class FrontDoorParams(Strict):
    contact_rate: float = P(0.08, "per month", 0.0, 1.0, "Chance a resident in need with no support contacts services in a month (prior; sized to about 8,000 requests a year: 5,300 from 65+ in 11 months of 2016/17, WT_SOCIAL_CARE_2021).")
    recontact_months: int = P(12, "months", 1, 60, "A resident seen at the front door does not come back for this long unless admitted (prior).")
    traditional_community: float = P(0.05, "probability", 0.0, 1.0, "Assessment-led conversation ending in a community connection (prior).")
    traditional_reablement: float = P(0.15, "probability", 0.0, 1.0, "Assessment-led conversation ending in reablement (prior).")
    traditional_home_care: float = P(0.15, "probability for eligible need", 0.0, 1.0, "Assessment-led conversation ending in long-term home care (prior).")
    traditional_care_home: float = P(0.35, "probability at care-home level need", 0.0, 1.0, "Assessment-led placement when need is at care-home level (prior).")
    strengths_community: float = P(0.45, "probability at full local capacity", 0.0, 1.0, "Strengths-based conversation ending in a community connection (Harrow: new long-term support 7.2 -> 5.5 a week; prior).")
    strengths_reablement: float = P(0.25, "probability", 0.0, 1.0, "Strengths-based conversation ending in reablement (prior).")
    strengths_home_care_reduction: float = P(0.35, "relative reduction", 0.0, 1.0, "Fewer long-term packages; 'near-halving' claimed (Guardian 2016, weak), Harrow -24% (Partners4Change).")
    strengths_care_home_reduction: float = P(0.3, "relative reduction", -0.5, 1.0, "Fewer placements after strengths-based conversations (prior); negative = more placements than an assessment-led conversation.")
    home_care_exit_rate: float = P(0.03, "per month", 0.0, 0.2, "Recovery out of a long-term package (prior).")
    home_care_to_care_home: float = P(0.08, "per month at care-home level need", 0.0, 1.0, "Placement from home care once need reaches care-home level (prior).")


class HospitalParams(Strict):
    admission_rate_65_plus: float = P(0.018, "per month at the good-health threshold", 0.0, 0.5, "Emergency admissions of 65+: about 250 per 1,000 a year in England (prior).")
    admission_rate_under_65: float = P(0.004, "per month", 0.0, 0.2, "Adults under 65 (prior).")
    admission_frailty: float = P(0.5, "log rate per frailty SD", 0.0, 2.0, "Admissions rise with frailty (prior).")
    unmet_need_multiplier: float = P(1.5, "rate ratio", 1.0, 5.0, "Residents in need without support are admitted more (prior); social prescribing A&E -24% (Polley 2017) bounds it.")
    quality_effect: float = P(0.5, "relative change per unit quality", 0.0, 2.0, "Better care homes send fewer residents to hospital (prior).")
    reablement_offer: float = P(0.028, "share of 65+ discharges", 0.0, 0.5, "ASCOF 2B(2): 2.8% of 65+ discharges offered reablement in England 2018/19 (ASCOF_NHSD); Wigan 4.6%.")
    care_home_discharge: float = P(0.45, "probability at care-home level need", 0.0, 1.0, "Discharge to a care home of residents whose need is at care-home level (prior).")
    home_care_discharge: float = P(0.1, "probability at eligible need", 0.0, 1.0, "Discharge with a new home-care package (prior).")
    delay_days: float = P(3.0, "days per onward transfer at pressure 1", 0.0, 60.0, "Delayed patients wait 4.8 extra days on average (Jasinarachchi 2009); not every onward transfer is delayed, so the mean over all transfers is lower (prior).")
    delay_pressure_elasticity: float = P(1.5, "log delay per unit excess pressure", 0.0, 10.0, "Delays rise steeply when onward care is short (prior).")
    reablement_success: float = P(0.85, "probability of regaining independence", 0.0, 1.0, "Share still at home 91 days after reablement ~0.82 England (ASCOF 2B(1)); the model derives the measured share from deaths and admissions.")
    reablement_months: int = P(2, "months", 1, 12, "Reablement lasts up to 6 weeks (Glendinning 2010): it ends at the second monthly step after it starts.")
    reablement_offer_under_65_ratio: float = P(0.5, "ratio", 0.0, 1.0, "Adults under 65 in need are offered reablement at this fraction of the 65+ rate (prior; ASCOF 2B(2) counts only 65+).")
    home_first_delay_reduction: float = P(0.5, "relative reduction at full home first", 0.0, 1.0, "Home-first discharge cuts the wait per onward transfer by up to this share (prior).")
    admission_frailty_cap: float = P(4.0, "frailty SD above the good-health threshold", 0.5, 10.0, "Admission rates stop rising with frailty beyond this gap (prior: keeps the rate finite for the frailest).")
    quality_reference: float = P(0.6, "share good or outstanding", 0.0, 1.0, "Care-home quality at which admissions from care homes are at their base rate (England 2015, CQC_STATE_OF_CARE).")


class CareMarketParams(Strict):
    baseline_quality: float = P(0.45, "share good or outstanding", 0.0, 1.0, "Wigan's care homes started low: 16 of 27 requires improvement and 2 inadequate in 2014-15 (WT_CQC_2015).")
    national_gain: float = P(0.25, "share, logistic rise 2014-2018", 0.0, 1.0, "England's adult social care rated good or outstanding 0.60 (2015) -> 0.82 (2018) under CQC's new regime (CQC_STATE_OF_CARE).")
    months: float = P(12.0, "months", 1.0, 60.0, "Time for ratings to follow investment and relationships (prior).")
    investment_effect: float = P(0.15, "share per GBP 1m per 1,000 care-home places", 0.0, 1.0, "Care home innovation fund GBP 2m 2016 (timeline); prior.")
    relationship_effect: float = P(0.15, "share at full fidelity", 0.0, 0.5, "Commissioning relationships (MODEL_BRIEF s.2.6; prior).")
    fee_pressure_effect: float = P(0.1, "share per unit budget squeeze", 0.0, 0.5, "Squeezed fees and turnover lower quality (prior).")
    council_funded_share: float = P(0.55, "fraction of placements", 0.0, 1.0, "Council-funded share of care-home residents; CMA 2017 (prior, self-funders pay 41% more).")
    national_gain_midyear: float = P(2016.0, "year", 2000.0, 2030.0, "Centre of England's logistic rise in ratings: half the 2015-2018 gain by January 2016 (CQC_STATE_OF_CARE).")
    national_gain_scale_years: float = P(0.8, "years", 0.1, 5.0, "Logistic scale of that rise (0.60 in 2015 to 0.82 in 2018, CQC_STATE_OF_CARE).")
    fee_squeeze_threshold: float = P(0.3, "share of other services cut", 0.0, 1.0, "Cuts to other services beyond this share squeeze care-home fees (prior).")
    initial_care_home_share: float = P(0.6, "fraction", 0.0, 1.0, "Share of residents 65+ with care-home level need living in a care home at the start; the burn-in settles the rest (prior, with care_home_margin giving 3.2% of 65+ in care homes, ONS 2011).")
    initial_home_care_share: float = P(0.15, "fraction", 0.0, 1.0, "Share of other residents 65+ in need receiving home care at the start (prior).")


class FinanceParams(Strict):
    baseline_budget_gbp_m: float = P(400.0, "GBP m per year (2010/11 prices)", 1.0, 5000.0, "Net budget implied by 'GBP 160m ... 40 per cent of our overall budget' (WIGAN_LEADER_2021).")
    savings_required_gbp_m: float = P(160.0, "GBP m per year by the end of the cuts", 0.0, 5000.0, "Savings target 2011-2020 (council_finance.savings_target_2011_to_2020_gbp_m).")
    cuts_start: str = P("2011-04", "YYYY-MM", None, None, "Austerity cuts begin 2010/11-2011/12 (timeline).")
    cuts_end: str = P("2021-03", "YYYY-MM", None, None, "Target reached by 2020/21.")
    workforce_baseline: int = P(5000, "headcount", 1, 100000, "About 1,000 fewer is 'roughly a fifth' (KF_NEWSTART), 4,000 in 2016-17 (WT_UNISON_MORALE): about 5,000 before.")
    workforce_reduction: float = P(0.2, "fraction", 0.0, 0.9, "Roughly a fifth of the workforce (KF_NEWSTART); austerity, in both arms.")
    staff_cost_gbp_k: float = P(30.0, "GBP thousands per head per year", 10.0, 100.0, "Prior: local-government pay plus on-costs.")
    home_care_gbp_week: float = P(160.0, "GBP per client per week", 10.0, 2000.0, "About 10 hours at GBP 16.12 (UKHCA 2018).")
    care_home_gbp_week: float = P(567.0, "GBP per council-funded resident per week", 100.0, 3000.0, "Wigan 2019/20 (WT_SOCIAL_CARE_2021); CMA 2016 GBP 621.")
    reablement_gbp: float = P(2088.0, "GBP per episode", 0.0, 20000.0, "Glendinning 2010.")
    other_services_floor: float = P(0.25, "fraction of 2010 level", 0.0, 1.0, "Other services cannot be cut below this share; beyond it the council overspends (prior).")
    council_tax_gbp_m: float = P(90.0, "GBP m per year in 2010", 0.0, 2000.0, "Prior: about a quarter of net spend for a metropolitan borough.")
    business_as_usual_tax_rise: float = P(0.02, "fraction per year", -0.1, 0.2, "English councils typically raised council tax about 2% a year (prior; Wigan +2% 2013/14, WIGANWORLD_2013).")
    freeze_grant: float = P(0.01, "fraction of tax per frozen year", 0.0, 0.05, "Government freeze grant worth about 1% of council tax (prior).")
    tax_changes_from: int = P(2011, "financial year start", 1990, 2100, "First financial year in which council tax rises (or is frozen): the model's 2010 level is the base.")
    workforce_front_loading: float = P(1.6, "ratio", 1.0, 5.0, "Headcount cuts run ahead of the savings: the whole reduction is reached 1/1.6 = 62% of the way through the cuts (prior; about 1,000 fewer by 2015, KF_NEWSTART).")

    cut_path: dict[str, float] | None = Field(None, json_schema_extra={"unit": "YYYY-MM: fraction of savings_required_gbp_m", "range": [0.0, 1.0], "source": "Optional front-loaded path of the cut: cumulative fraction of the required savings reached by each month, linear between points, the last value held after; none = a straight ramp from cuts_start to cuts_end. Wigan's path is its reported cumulative savings (council_finance.cumulative_savings_gbp_m) over the GBP 160m target."}, description="Front-loaded path of the cut (cumulative fraction of savings_required by month).")

    _m = field_validator("cuts_start", "cuts_end")(classmethod(lambda cls, v: _check_month(v)))

    @field_validator("cut_path")
    @classmethod
    def _path(cls, v: dict[str, float] | None) -> dict[str, float] | None:
        if v is None:
            return v
        if len(v) < 2:
            raise ValueError("a cut path needs at least two points (month: fraction)")
        months = [month_index(_check_month(str(k))) for k in v]
        if months != sorted(months) or len(set(months)) != len(months):
            raise ValueError("the cut path's months must be in increasing order")
        values = list(v.values())
        if any(not 0.0 <= x <= 1.0 for x in values):
            raise ValueError("each point of the cut path is a fraction of the required savings, between 0 and 1")
        if any(b < a for a, b in zip(values, values[1:])):
            raise ValueError("the cut path is cumulative: its fractions must not fall")
        return {str(k): float(x) for k, x in v.items()}


class ContextParams(Strict):
    greater_manchester: bool = P(True, "flag", None, None, "Wigan is one of the ten GM boroughs.")
    devolution_start: str = P("2014-11", "YYYY-MM", None, None, "Greater Manchester devolution (timeline).")
    devolution_ramp_months: int = P(24, "months", 1, 120, "Time for devolution's effect to build (prior).")
    devolution_mortality_male: float = P(0.035, "relative hazard reduction", 0.0, 0.2, "LE +0.338 years for men (Britteon 2022) / Gompertz slope 0.105 ~ 3.5% lower hazard.")
    devolution_mortality_female: float = P(0.006, "relative hazard reduction", 0.0, 0.2, "LE +0.057 years for women (Britteon 2022).")
    devolution_frailty: float = P(0.0, "frailty SD", -0.5, 0.5, "Devolution's effect on health beyond mortality: no estimate, 0 by default; free in calibration.")
    national_frailty_trend: float = P(0.0, "frailty SD per year", -0.1, 0.1, "England's HLE stagnated 2009-2019 (HLE_ORIG): 0.")
    national_mortality_trend: float = P(0.0, "relative hazard change per year", -0.05, 0.05, "England's LE flat 2015-2019 (LE_FT): 0.")

    _m = field_validator("devolution_start")(classmethod(lambda cls, v: _check_month(v)))


class DealParams(Strict):
    enabled: bool = P(False, "flag", None, None, "Whether the council adopts the Deal; false is business as usual.")
    pilot_start: str = P("2012-01", "YYYY-MM", None, None, "Adult social care pilot 2012 (timeline).")
    pilot_share: float = P(0.15, "fraction of service areas", 0.0, 1.0, "Part of the borough in the pilot (prior: one of seven areas).")
    launch: str = P("2014-01", "YYYY-MM", None, None, "Public launch January 2014 (timeline).")
    rollout_months: int = P(24, "months", 0, 240, "From launch to all service areas (prior).")
    fidelity: float = P(1.0, "fraction", 0.0, 1.0, "How fully every lever is pulled; multiplies the per-lever fidelities below.")
    practice_fidelity: float = P(1.0, "fraction", 0.0, 1.0, "Training and permission to innovate.")
    community_fidelity: float = P(1.0, "fraction", 0.0, 1.0, "Community investment fund.")
    citizen_fidelity: float = P(1.0, "fraction", 0.0, 1.0, "Citizen side: campaign for self-help and volunteering.")
    integration_fidelity: float = P(1.0, "fraction", 0.0, 1.0, "Home-first discharge and care-market relationships.")
    tax_freeze: bool = P(True, "flag", None, None, "Freeze general council tax (Wigan 2014/15 to 2020/21).")
    tax_freeze_from: int = P(2014, "financial year start", 1990, 2100, "First frozen financial year (2014/15).")
    tax_freeze_to: int = P(2020, "financial year start", 1990, 2100, "Last frozen financial year (2020/21).")
    fund_gbp_m: float = P(10.0, "GBP m", 0.0, 1000.0, "Community Investment Fund: about GBP 10m 2013-2019 (WIGAN_CIF, BWCN_DIFFERENCE).")
    fund_start: str = P("2013-01", "YYYY-MM", None, None, "First round 2013 (WT_NEW_DEAL_2014).")
    fund_end: str = P("2019-09", "YYYY-MM", None, None, "GBP 10m reached by 2019-09 (WIGAN_CIF).")
    care_home_fund_gbp_m: float = P(2.0, "GBP m", 0.0, 100.0, "Care home innovation fund 2016 (timeline).")
    care_home_fund_year: int = P(2016, "year", 1990, 2100, "Year of the care home innovation fund.")
    training_gbp_per_staff: float = P(1000.0, "GBP per practitioner trained", 0.0, 20000.0, "Prior: a few days' training plus cover.")
    permitted_autonomy: float = P(0.85, "0-1 index", 0.0, 1.0, "Leadership's 'permission to try new things' (MODEL_BRIEF s.1).")
    home_first: float = P(0.4, "relative reduction", 0.0, 1.0, "Home-first discharge: fewer discharges to care homes and shorter waits (prior).")
    reablement_offer: float = P(0.046, "share of 65+ discharges", 0.0, 0.5, "Wigan offered reablement to 4.6% of 65+ discharges in 2018/19 vs 2.8% England (ASCOF_NHSD).")
    self_help_campaign: float = P(1.0, "0-1 intensity", 0.0, 1.0, "Citizen-side campaign (Healthy Wigan, health movement, CONFED_2019).")

    _m = field_validator("pilot_start", "launch", "fund_start", "fund_end")(classmethod(lambda cls, v: _check_month(v)))

    @model_validator(mode="after")
    def _order(self) -> "DealParams":
        if month_index(self.fund_end) < month_index(self.fund_start):
            raise ValueError("fund_end is before fund_start")
        if month_index(self.launch) < month_index(self.pilot_start):
            raise ValueError("launch is before pilot_start")
        if self.tax_freeze_to < self.tax_freeze_from:
            raise ValueError("tax_freeze_to is before tax_freeze_from")
        return self


class ObservationParams(Strict):
    survey_per_year: int = P(1200, "respondents per year", 50, 100000, "Annual Population Survey respondents in a borough; sized so a 3-year HLE has a sampling SE near 1 year (the data README's +-2 year CI).")


class Scenario(Strict):
    """A whole scenario; each section has its own defaults so a file states only what differs."""

    name: str = Field("unnamed", description="Short name used in outputs.")
    description: str = Field("", description="What this scenario represents.")
    time: TimeParams = TimeParams()
    population: PopulationParams = PopulationParams()
    mortality: MortalityParams = MortalityParams()
    health: HealthParams = HealthParams()
    social: SocialParams = SocialParams()
    trust: TrustParams = TrustParams()
    staff: StaffParams = StaffParams()
    community: CommunityParams = CommunityParams()
    front_door: FrontDoorParams = FrontDoorParams()
    hospital: HospitalParams = HospitalParams()
    care_market: CareMarketParams = CareMarketParams()
    finance: FinanceParams = FinanceParams()
    context: ContextParams = ContextParams()
    deal: DealParams = DealParams()
    observation: ObservationParams = ObservationParams()


SECTIONS = [n for n in Scenario.model_fields if n not in ("name", "description")]


def parameter_table(section: str) -> str:
    """Markdown table of one section's parameters, for docs/ODD.md."""
    cls = Scenario.model_fields[section].annotation
    rows = ["| parameter | default | unit | range | source or reason |", "|---|---|---|---|---|"]
    for name, f in cls.model_fields.items():  # type: ignore[union-attr]
        ex = f.json_schema_extra or {}
        lo, hi = ex.get("range", [None, None])
        rng = "" if lo is None and hi is None else f"{'' if lo is None else lo} - {'' if hi is None else hi}"
        rows.append(f"| `{section}.{name}` | {f.default} | {ex.get('unit', '')} | {rng} | {ex.get('source', '')} |")
    return "\n".join(rows)


if __name__ == "__main__":
    import sys

    if "--markdown" in sys.argv:
        for s in SECTIONS:
            print(f"\n#### `{s}`\n\n{parameter_table(s)}")
