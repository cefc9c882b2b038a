//! Where things are: postal codes, points on the map and the distance between them, and how a
//! citizen's typed search text is compared with a site's name and address.

use crate::i18n::Msg;
use crate::validation::ascii_digits;

/// A Japanese postal code as typed (`105-8511`, `1058511`, `１０５－８５１１`, `〒105-8511`):
/// its seven ASCII digits, or [`Msg::InvalidPostalCode`]. The one parser of postal codes.
pub fn postal_code(raw: &str) -> Result<String, Msg> {
    let s: String = ascii_digits(raw.trim())
        .chars()
        .filter(|c| !matches!(c, '-' | '‐' | '−' | '〒' | ' ' | '\u{3000}'))
        .collect();
    if s.len() == 7 && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(s)
    } else {
        Err(Msg::InvalidPostalCode)
    }
}

/// A point on the map (WGS 84 degrees).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Point {
    pub lat: f64,
    pub lng: f64,
}

/// Japan's extent with a margin: a point outside is a typing error, not a site.
const LAT: std::ops::RangeInclusive<f64> = 20.0..=46.0;
const LNG: std::ops::RangeInclusive<f64> = 122.0..=154.0;

impl Point {
    /// A point as given: a finite latitude of −90…90 and longitude of −180…180
    /// ([`Msg::InvalidLatitude`], [`Msg::InvalidLongitude`] name which is wrong).
    pub fn parse(lat: f64, lng: f64) -> Result<Point, (&'static str, Msg)> {
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return Err(("lat", Msg::InvalidLatitude));
        }
        if !lng.is_finite() || !(-180.0..=180.0).contains(&lng) {
            return Err(("lng", Msg::InvalidLongitude));
        }
        Ok(Point { lat, lng })
    }

    /// A site's own point (entered by staff): as [`Point::parse`], and inside Japan.
    /// The field named is `latitude` or `longitude` (as the site's forms call them).
    pub fn in_japan(lat: f64, lng: f64) -> Result<Point, (&'static str, Msg)> {
        let p = Point::parse(lat, lng).map_err(|(field, msg)| match field {
            "lat" => ("latitude", msg),
            _ => ("longitude", msg),
        })?;
        if !LAT.contains(&p.lat) {
            return Err(("latitude", Msg::InvalidLatitude));
        }
        if !LNG.contains(&p.lng) {
            return Err(("longitude", Msg::InvalidLongitude));
        }
        Ok(p)
    }

    /// Great-circle distance in kilometres (haversine; ample for "how far is the clinic").
    pub fn distance_km(self, other: Point) -> f64 {
        const R: f64 = 6_371.0;
        let (la1, la2) = (self.lat.to_radians(), other.lat.to_radians());
        let dla = la2 - la1;
        let dlo = (other.lng - self.lng).to_radians();
        let a = (dla / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlo / 2.0).sin().powi(2);
        2.0 * R * a.sqrt().min(1.0).asin()
    }

    /// A point `dx_km` east and `dy_km` north of this one (for scattering demo sites).
    pub fn offset_km(self, dx_km: f64, dy_km: f64) -> Point {
        let lat = self.lat + dy_km / 111.32;
        let lng = self.lng + dx_km / (111.32 * self.lat.to_radians().cos().max(0.01));
        Point { lat, lng }
    }
}

/// Text as the finder compares it: full-width ASCII folded to half-width, letters lower-cased,
/// katakana-hiragana left alone, white space (including the ideographic space) dropped. The same
/// fold is applied to the search words and to the site's name and address.
pub fn search_fold(s: &str) -> String {
    s.chars()
        .filter_map(|c| {
            let c = match c {
                '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
                '‐' | '−' => '-',
                other => other,
            };
            if c.is_whitespace() {
                None
            } else {
                Some(c.to_ascii_lowercase())
            }
        })
        .collect()
}

/// The search words of a query (split on any white space, folded), at most 8 of them.
pub fn search_words(q: &str) -> Vec<String> {
    q.split(|c: char| c.is_whitespace())
        .map(search_fold)
        .filter(|w| !w.is_empty())
        .take(8)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postal_codes_as_people_type_them() {
        for ok in [
            "105-8511",
            "1058511",
            "１０５－８５１１",
            "〒105-8511",
            " 105 8511 ",
        ] {
            assert_eq!(postal_code(ok), Ok("1058511".into()), "{ok}");
        }
        for bad in ["abc", "105-851", "10585111", "", "105-85a1", "1O58511"] {
            assert_eq!(postal_code(bad), Err(Msg::InvalidPostalCode), "{bad}");
        }
    }

    #[test]
    fn points_are_checked_and_measured() {
        assert_eq!(
            Point::parse(999.0, 139.0),
            Err(("lat", Msg::InvalidLatitude))
        );
        assert_eq!(
            Point::parse(35.0, f64::NAN),
            Err(("lng", Msg::InvalidLongitude))
        );
        assert!(Point::in_japan(51.5, -0.1).is_err());
        // A site's forms name the field as they call it, also when it is no coordinate at all.
        assert_eq!(
            Point::in_japan(95.0, 139.0).map_err(|e| e.0),
            Err("latitude")
        );
        assert_eq!(
            Point::in_japan(35.0, 190.0).map_err(|e| e.0),
            Err("longitude")
        );
        assert_eq!(
            Point::in_japan(35.0, 100.0).map_err(|e| e.0),
            Err("longitude")
        );
        let tokyo = Point::in_japan(35.681, 139.767).unwrap_or(Point { lat: 0.0, lng: 0.0 });
        let osaka = Point {
            lat: 34.702,
            lng: 135.496,
        };
        let d = tokyo.distance_km(osaka);
        assert!((395.0..410.0).contains(&d), "東京駅–大阪駅 {d} km");
        assert_eq!(tokyo.distance_km(tokyo), 0.0);
        let east = tokyo.offset_km(3.0, 4.0);
        assert!((tokyo.distance_km(east) - 5.0).abs() < 0.05);
    }

    #[test]
    fn search_text_folds_width_case_and_space() {
        assert_eq!(search_fold("ＡＢＣ　クリニック 1"), "abcクリニック1");
        assert_eq!(search_words(" 港区　芝公園 "), vec!["港区", "芝公園"]);
        assert!(search_words("   ").is_empty());
    }
}
