//! Message texts in English, Spanish, Portuguese, French, German and
//! Italian, chosen by the `locale` parameter or else by the calling code.

/// A language messages are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English.
    En,
    /// Spanish.
    Es,
    /// Portuguese.
    Pt,
    /// French.
    Fr,
    /// German.
    De,
    /// Italian.
    It,
}

impl Lang {
    /// The language of `locale` (`es`, `pt-BR`, `fr_CA`...) if it is one of
    /// ours, else the main language of `country_code`, else English.
    #[must_use]
    pub fn choose(locale: Option<&str>, country_code: u16) -> Self {
        Self::from_locale(locale).unwrap_or(match country_code {
            34 | 52 | 54 | 56 | 57 | 58 | 51 | 53 | 591 | 593 | 595 | 598 | 502..=507 => Self::Es,
            55 | 351 | 244 | 258 => Self::Pt,
            33 | 32 | 377 | 225 | 221 => Self::Fr,
            49 | 43 | 423 => Self::De,
            39 | 378 => Self::It,
            _ => Self::En,
        })
    }

    /// The language of `locale` (`es`, `pt-BR`, `fr_CA`...) if it is one
    /// of ours. API responses follow the locale alone (Authy answered in
    /// English unless asked); messages to phones also follow the country.
    #[must_use]
    pub fn from_locale(locale: Option<&str>) -> Option<Self> {
        let prefix = locale?.get(..2)?.to_ascii_lowercase();
        Some(match prefix.as_str() {
            "en" => Self::En,
            "es" => Self::Es,
            "pt" => Self::Pt,
            "fr" => Self::Fr,
            "de" => Self::De,
            "it" => Self::It,
            _ => return None,
        })
    }

    /// The locale tag written in delivery records.
    #[must_use]
    pub fn tag(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Es => "es",
            Self::Pt => "pt",
            Self::Fr => "fr",
            Self::De => "de",
            Self::It => "it",
        }
    }

    /// The text of an SMS carrying `code` for the application `app`.
    #[must_use]
    pub fn sms(self, app: &str, code: &str) -> String {
        match self {
            Self::En => format!("Your {app} verification code is: {code}"),
            Self::Es => format!("Tu código de verificación de {app} es: {code}"),
            Self::Pt => format!("O seu código de verificação {app} é: {code}"),
            Self::Fr => format!("Votre code de vérification {app} est : {code}"),
            Self::De => format!("Ihr {app}-Bestätigungscode lautet: {code}"),
            Self::It => format!("Il tuo codice di verifica {app} è: {code}"),
        }
    }

    /// The subject of an e-mail carrying a code of `app` (the code is in
    /// its text alone, out of notification previews).
    #[must_use]
    pub fn mail_subject(self, app: &str) -> String {
        match self {
            Self::En => format!("Your {app} verification code"),
            Self::Es => format!("Tu código de verificación de {app}"),
            Self::Pt => format!("O seu código de verificação {app}"),
            Self::Fr => format!("Votre code de vérification {app}"),
            Self::De => format!("Ihr {app}-Bestätigungscode"),
            Self::It => format!("Il tuo codice di verifica {app}"),
        }
    }

    /// What a voice call says: the digits one by one, twice.
    #[must_use]
    pub fn voice(self, app: &str, code: &str) -> String {
        let spoken = code
            .chars()
            .map(String::from)
            .collect::<Vec<_>>()
            .join(", ");
        match self {
            Self::En => {
                format!("Your {app} verification code is: {spoken}. Again, your code is: {spoken}.")
            }
            Self::Es => format!(
                "Tu código de verificación de {app} es: {spoken}. Repito, tu código es: {spoken}."
            ),
            Self::Pt => format!(
                "O seu código de verificação {app} é: {spoken}. Repetindo, o seu código é: {spoken}."
            ),
            Self::Fr => format!(
                "Votre code de vérification {app} est : {spoken}. Je répète, votre code est : {spoken}."
            ),
            Self::De => format!(
                "Ihr {app}-Bestätigungscode lautet: {spoken}. Noch einmal, Ihr Code lautet: {spoken}."
            ),
            Self::It => format!(
                "Il tuo codice di verifica {app} è: {spoken}. Ripeto, il tuo codice è: {spoken}."
            ),
        }
    }

    /// The `message` of a phone verification start sent by SMS.
    #[must_use]
    pub fn sms_started(self, number: &str) -> String {
        match self {
            Self::Es => format!("Mensaje de texto enviado a {number}."),
            Self::Pt => format!("Mensagem de texto enviada para {number}."),
            Self::Fr => format!("Message texte envoyé à {number}."),
            Self::De => format!("Textnachricht an {number} gesendet."),
            Self::It => format!("Messaggio di testo inviato a {number}."),
            Self::En => format!("Text message sent to {number}."),
        }
    }

    /// The `message` of a phone verification start by call (the Spanish
    /// text is Authy's own, recorded).
    #[must_use]
    pub fn call_started(self, number: &str) -> String {
        match self {
            Self::Es => format!("Llamada a {number} fue iniciada."),
            Self::Pt => format!("Chamada para {number} foi iniciada."),
            Self::Fr => format!("Appel vers {number} lancé."),
            Self::De => format!("Anruf an {number} wurde gestartet."),
            Self::It => format!("Chiamata a {number} avviata."),
            Self::En => format!("Call to {number} initiated."),
        }
    }
}

/// Puts `code` into a custom message at each `{{code}}`.
#[must_use]
pub fn custom(template: &str, code: &str) -> String {
    template.replace("{{code}}", code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locale_wins_over_country() {
        assert_eq!(Lang::choose(Some("es"), 1), Lang::Es);
        assert_eq!(Lang::choose(Some("pt-BR"), 1), Lang::Pt);
        assert_eq!(Lang::choose(Some("FR_ca"), 1), Lang::Fr);
        assert_eq!(Lang::choose(Some("ja"), 49), Lang::De);
        assert_eq!(Lang::choose(Some("x"), 39), Lang::It);
        assert_eq!(Lang::choose(None, 57), Lang::Es);
        assert_eq!(Lang::choose(None, 55), Lang::Pt);
        assert_eq!(Lang::choose(None, 1), Lang::En);
    }

    #[test]
    fn every_text_carries_the_code() {
        for lang in [Lang::En, Lang::Es, Lang::Pt, Lang::Fr, Lang::De, Lang::It] {
            assert!(lang.sms("Acme", "1234567").contains("1234567"), "{lang:?}");
            assert!(lang.voice("Acme", "123").contains("1, 2, 3"), "{lang:?}");
            let subject = lang.mail_subject("Acme");
            assert!(
                subject.contains("Acme") && !subject.contains("123"),
                "{lang:?}"
            );
            assert!(
                lang.sms_started("+1 775-461-5609")
                    .contains("+1 775-461-5609")
            );
            assert!(
                lang.call_started("+1 775-461-5609")
                    .contains("+1 775-461-5609")
            );
        }
        // Recorded from Authy.
        assert_eq!(
            Lang::Es.call_started("+1 775-461-5609"),
            "Llamada a +1 775-461-5609 fue iniciada."
        );
        assert_eq!(
            Lang::En.sms_started("+1 775-461-5609"),
            "Text message sent to +1 775-461-5609."
        );
        assert_eq!(custom("code {{code}} ({{code}})", "42"), "code 42 (42)");
    }
}
