//! Documents and images in the patient record: what kinds of file are accepted, how
//! they are filed, and what an upload must say about itself. The file's content decides
//! its type (`files::accept`); the uploader decides only the category and the title.

use serde::{Deserialize, Serialize};

use crate::record::text;
use crate::{Error, MediaType, Result};

/// The files a record accepts: photos, PDFs and DICOM images.
pub const RECORD_FILES: [MediaType; 6] = MediaType::ALL;

/// Most documents of a record listed at once.
pub const DOCUMENT_LIST_LIMIT: i64 = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// A photo, e.g. of a skin lesion before a visit.
    Photo,
    Report,
    LabReport,
    /// A scanned paper record.
    Scan,
    /// Medical imaging (DICOM).
    Imaging,
    Letter,
    Other,
}

impl Category {
    pub const ALL: [Category; 7] = [
        Category::Photo,
        Category::Report,
        Category::LabReport,
        Category::Scan,
        Category::Imaging,
        Category::Letter,
        Category::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Photo => "photo",
            Category::Report => "report",
            Category::LabReport => "lab_report",
            Category::Scan => "scan",
            Category::Imaging => "imaging",
            Category::Letter => "letter",
            Category::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The category a file of this kind is filed under when the uploader names none.
    pub fn default_for(media: MediaType) -> Category {
        match media {
            MediaType::Dicom => Category::Imaging,
            MediaType::Pdf => Category::Report,
            _ => Category::Photo,
        }
    }

    /// Whether a file of this kind may be filed here: DICOM only as imaging, and
    /// imaging only as DICOM or a picture.
    pub fn fits(self, media: MediaType) -> bool {
        match (self, media) {
            (_, MediaType::Dicom) => self == Category::Imaging,
            (Category::Imaging, MediaType::Pdf) => false,
            _ => true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocumentStatus {
    Current,
    /// Filed by mistake (wrong patient, wrong file): hidden from lists, kept for audit.
    EnteredInError,
}

impl DocumentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentStatus::Current => "current",
            DocumentStatus::EnteredInError => "entered_in_error",
        }
    }

    pub fn parse(s: &str) -> Option<DocumentStatus> {
        match s {
            "current" => Some(DocumentStatus::Current),
            "entered_in_error" => Some(DocumentStatus::EnteredInError),
            _ => None,
        }
    }
}

/// What a DICOM file's header says about the image: where it belongs (study, series,
/// instance), what it shows, and the window it is meant to be viewed with.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DicomHeader {
    pub study_uid: String,
    pub series_uid: String,
    pub sop_instance_uid: String,
    pub sop_class_uid: String,
    pub transfer_syntax: String,
    /// CT, MR, US, CR, DX, ...
    pub modality: Option<String>,
    /// As in the file: YYYYMMDD.
    pub study_date: Option<String>,
    pub study_description: Option<String>,
    pub series_description: Option<String>,
    pub series_number: Option<i64>,
    pub instance_number: Option<i64>,
    pub body_part: Option<String>,
    /// The name in the file, which may differ from the record's patient: shown so a
    /// clinician can notice a misfiled image.
    pub patient_name: Option<String>,
    pub patient_identifier: Option<String>,
    pub rows: Option<i64>,
    pub columns: Option<i64>,
    pub frames: Option<i64>,
    pub window_center: Option<f64>,
    pub window_width: Option<f64>,
}

const TITLE_MAX: usize = 200;
const DESCRIPTION_MAX: usize = 2000;

/// What the uploader says about a file.
#[derive(Debug, Clone, Default)]
pub struct DocumentDetails {
    pub category: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
}

/// Checked details, with the category and title settled.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidDetails {
    pub category: Category,
    pub title: String,
    pub description: Option<String>,
}

impl DocumentDetails {
    /// Checks the details of a file whose content is `media`; the title defaults to the
    /// file's (cleaned) name.
    pub fn validate(self, media: MediaType, file_name: &str) -> Result<ValidDetails> {
        let category = match self.category.as_deref().map(str::trim) {
            None | Some("") => Category::default_for(media),
            Some(raw) => Category::parse(raw).ok_or_else(|| {
                Error::invalid(
                    "category",
                    "category is one of photo, report, lab_report, scan, imaging, letter, other",
                )
            })?,
        };
        if !category.fits(media) {
            return Err(Error::invalid(
                "category",
                format!(
                    "a {} file cannot be filed as {}",
                    media.extension(),
                    category.as_str()
                ),
            ));
        }
        let title = match text("title", self.title, TITLE_MAX)? {
            Some(t) if t.contains('\n') => {
                return Err(Error::invalid("title", "a title is one line"))
            }
            Some(t) => t,
            None => file_name.chars().take(TITLE_MAX).collect(),
        };
        let description = text("description", self.description, DESCRIPTION_MAX)?;
        Ok(ValidDetails {
            category,
            title,
            description,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn details(category: Option<&str>, title: Option<&str>) -> DocumentDetails {
        DocumentDetails {
            category: category.map(str::to_owned),
            title: title.map(str::to_owned),
            description: None,
        }
    }

    #[test]
    fn the_category_follows_the_content_unless_named() {
        let v = details(None, None)
            .validate(MediaType::Dicom, "ct.dcm")
            .unwrap();
        assert_eq!(v.category, Category::Imaging);
        assert_eq!(v.title, "ct.dcm");
        let v = details(None, Some(" Mole, left arm "))
            .validate(MediaType::Jpeg, "IMG_1.jpg")
            .unwrap();
        assert_eq!(
            (v.category, v.title.as_str()),
            (Category::Photo, "Mole, left arm")
        );
        let v = details(Some("scan"), None)
            .validate(MediaType::Pdf, "a.pdf")
            .unwrap();
        assert_eq!(v.category, Category::Scan);
    }

    #[test]
    fn a_file_goes_only_where_it_fits() {
        assert!(details(Some("photo"), None)
            .validate(MediaType::Dicom, "x.dcm")
            .is_err());
        assert!(details(Some("imaging"), None)
            .validate(MediaType::Pdf, "x.pdf")
            .is_err());
        assert!(details(Some("xray"), None)
            .validate(MediaType::Png, "x.png")
            .is_err());
        let long = "t".repeat(TITLE_MAX + 1);
        assert!(details(None, Some(&long))
            .validate(MediaType::Png, "x.png")
            .is_err());
        assert!(details(None, Some("a\u{7}b"))
            .validate(MediaType::Png, "x.png")
            .is_err());
        assert!(details(None, Some("a\nb"))
            .validate(MediaType::Png, "x.png")
            .is_err());
    }
}
