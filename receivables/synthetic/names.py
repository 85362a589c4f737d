"""Company names: how they are made unique, and how banks and domain names spell them.

The showcase names come first in each country; the generated ones are built from parts so
that every name is unique by construction (showcase words never occur as parts), which keeps
"the mangled payer name identifies exactly one customer" true -- the promise a fuzzy-name
payment in the ground truth relies on.  The same module owns the ASCII forms a name takes on a
bank line (upper case, umlauts spelled out, cut to 27 characters) and in a domain name.
"""

from __future__ import annotations

import re


def _words(text: str) -> tuple[str, ...]:
    """A comma-separated word list (kept compact in the source) as a tuple."""
    return tuple(" ".join(w.split()) for w in text.split(",") if w.strip())


_SHOWCASE = (
    (
        "Müller & Söhne GmbH",
        "Großhandel Jäger KG",
        "Bäckerei Schütz e.K.",
        "Gebr. Weiß Maschinenbau GmbH",
        "Öztürk Feinkost GmbH",
        "Straßenbau Böhm GmbH & Co. KG",
        "Hüttenwerke Krüger AG",
    ),
    (
        "Café Peñalver S.L.",
        "Ibáñez Logística S.A.",
        "Construcciones Muñoz e Hijos S.L.",
        "Distribuciones Gómez Pérez S.A.",
        "Panadería La Espiga S.L.",
        "Bodegas Núñez de Arce S.A.",
    ),
    (
        "Acme Industrial Supply Inc.",
        "Johnson & Sons Hardware LLC",
        "Great Lakes Packaging Corp.",
        "Blue Ridge Foods, Inc.",
        "O'Brien Construction Co.",
    ),
)
_SURNAMES = (
    _words(
        """
        Müller, Schmidt, Schneider, Fischer, Weber, Meyer, Wagner, Becker, Schulz, Hoffmann,
        Schäfer, Koch, Bauer, Richter, Klein, Wolf, Schröder, Neumann, Schwarz, Zimmermann, Braun,
        Krüger, Hofmann, Hartmann, Lange, Schmitt, Werner, Schmitz, Krause, Meier, Lehmann, Schmid,
        Schulze, Maier, Köhler, Herrmann, König, Walter, Mayer, Huber, Kaiser, Fuchs, Peters, Lang,
        Scholz, Möller, Weiß, Jung, Hahn, Schubert, Vogel, Friedrich, Keller, Günther, Frank,
        Berger, Winkler, Roth, Beck, Lorenz, Baumann, Franke, Albrecht, Schuster, Simon, Ludwig,
        Böhm, Winter, Kraus, Schumacher, Krämer, Vogt, Stein, Jäger, Otto, Sommer, Groß, Seidel,
        Heinrich, Brandt, Haas, Schreiber, Graf, Schulte, Dietrich, Ziegler, Kuhn, Kühn, Pohl,
        Engel, Horn, Busch, Bergmann, Voigt, Sauer, Arnold, Wolff, Pfeiffer, Brückner, Dörr
        """
    ),
    _words(
        """
        García, Fernández, González, Rodríguez, López, Martínez, Sánchez, Pérez, Gómez, Martín,
        Jiménez, Hernández, Ruiz, Díaz, Moreno, Muñoz, Álvarez, Romero, Gutiérrez, Alonso, Navarro,
        Torres, Domínguez, Ramos, Vázquez, Ramírez, Gil, Serrano, Morales, Molina, Blanco, Suárez,
        Castro, Ortega, Delgado, Ortiz, Marín, Rubio, Núñez, Medina, Sanz, Castillo, Iglesias,
        Cortés, Garrido, Santos, Guerrero, Lozano, Cano, Cruz, Méndez, Flores, Prieto, Herrera,
        Peña, Márquez, Cabrera, Gallego, Calvo, Vidal, Campos, Reyes, Vega, Fuentes, Carrasco,
        Caballero, Aguilar, Nieto, Santana, Pascual, Herrero, Montero, Hidalgo, Giménez, Ferrer,
        Durán, Santiago, Benítez, Vicente, Mora, Arias, Vargas, Carmona, Crespo, Román, Pastor,
        Soto, Sáez, Velasco, Soler, Moya, Esteban, Parra, Bravo, Gallardo, Rojas, Echeverría,
        Ibarra, Zúñiga, Salcedo
        """
    ),
    _words(
        """
        Smith, Johnson, Williams, Brown, Jones, Miller, Davis, Wilson, Anderson, Taylor, Thomas,
        Moore, Jackson, Martin, Lee, Thompson, White, Harris, Clark, Lewis, Robinson, Walker, Young,
        Allen, King, Wright, Scott, Hill, Green, Adams, Baker, Nelson, Carter, Mitchell, Roberts,
        Turner, Phillips, Campbell, Parker, Evans, Edwards, Collins, Stewart, Morris, Murphy, Cook,
        Rogers, Morgan, Cooper, Peterson, Reed, Bailey, Bell, Kelly, Howard, Ward, Cox, Richardson,
        Wood, Watson, Brooks, Bennett, Gray, Hughes, Price, Sanders, Myers, Long, Ross, Foster,
        Hayes, Fisher, Graham, Sullivan, Wallace, Woods, Cole, West, Jordan, Reynolds, Hamilton,
        Ellis, Gibson, Dixon, Hunt, Palmer, Porter, Mason, Webb, Tucker, Hunter, Henderson, Burns,
        Crawford, Olson, Hudson, Spencer, Stone, Hart, Lawson
        """
    ),
)
_BRANCHES = (
    _words(
        """
        Maschinenbau, Elektrotechnik, Metallbau, Logistik, Spedition, Haustechnik, Baustoffe,
        Landtechnik, Kunststofftechnik, Feinmechanik, Druckerei, Holzbau, Getränkehandel,
        Lebensmittel, Autohaus, Sanitär, Gerätebau, Umwelttechnik, Verpackungen, Stahlhandel,
        Medizintechnik, Möbelwerkstätten, Bürobedarf, Kältetechnik, Fördertechnik
        """
    ),
    _words(
        """
        Transportes, Suministros, Instalaciones, Maquinaria, Alimentación, Electricidad, Fontanería,
        Ingeniería, Reformas, Carpintería, Comercial, Hostelería, Climatización, Embalajes,
        Metalúrgica, Papelería, Ferretería, Jardinería, Materiales, Automoción, Cerámicas, Textiles,
        Agrícola, Seguridad, Frigoríficos
        """
    ),
    _words(
        """
        Industrial Supply, Logistics, Foods, Packaging, Manufacturing, Electric, Hardware, Building
        Materials, Distribution, Plastics, Machinery, Tool & Die, Auto Parts, Medical Supply, Office
        Products, Chemicals, Paper Company, Steel, Farm Equipment, Textiles, Beverage, Printing,
        Lumber, Fasteners, HVAC Services
        """
    ),
)
_CITIES = (
    _words(
        """
        Hamburg, München, Köln, Düsseldorf, Nürnberg, Stuttgart, Leipzig, Dresden, Bremen, Hannover,
        Münster, Lübeck, Würzburg, Osnabrück, Göttingen, Saarbrücken
        """
    ),
    _words(
        """
        Madrid, Barcelona, Valencia, Sevilla, Zaragoza, Málaga, Bilbao, Alicante, Córdoba,
        Valladolid, Vigo, Gijón, Cádiz, Logroño, Almería, Pamplona
        """
    ),
    _words(
        """
        Ohio, Texas, Georgia, Illinois, Michigan, Oregon, Arizona, Florida, Indiana, Kentucky,
        Nevada, Utah, Iowa, Kansas, Vermont, Maine
        """
    ),
)
#: name patterns in tiers; every pattern keeps all its parts, so names are unique by construction
_NAME_PATTERNS = (
    (("{s} {b} {f}", "{b} {s} {f}"), ("{s} {b} {c} {f}", "{b} {s} {c} {f}")),
    (("{b} {s} {f}", "{s} {b} {f}"), ("{b} {s} Hermanos {f}", "{b} {s} de {c} {f}")),
    (("{s} {b} {f}",), ("{s} Brothers {b} {f}", "{s} {b} of {c} {f}")),
)
_LEGAL_FORMS = (
    ("GmbH", "AG", "KG", "GmbH & Co. KG", "e.K.", "OHG"),
    ("S.L.", "S.A.", "S.L.U.", "S.Coop."),
    ("Inc.", "LLC", "Corp.", "Co."),
)
_LEGAL_SUFFIXES = sorted({f for forms in _LEGAL_FORMS for f in forms}, key=lambda f: (-len(f), f))
#: how banks and domain names spell umlauts and accents in ASCII
_TRANSLIT = str.maketrans(
    dict(zip("äöüÄÖÜßáéíóúñÁÉÍÓÚÑçÇ", "ae oe ue Ae Oe Ue ss a e i o u n A E I O U N c C".split(), strict=True))
)
_NOT_SLUG = re.compile(r"[^a-z0-9 &/-]")
_SLUG_SPLIT = re.compile(r"[ &/-]+")


def _name_combinations(country: int) -> int:
    return sum(sum(_pattern_size(country, p) for p in tier) for tier in _NAME_PATTERNS[country])


def _pattern_size(country: int, pattern: str) -> int:
    size = len(_SURNAMES[country]) * len(_BRANCHES[country]) * len(_LEGAL_FORMS[country])
    return size * len(_CITIES[country]) if "{c}" in pattern else size


def _company_name(country: int, seq: int) -> str:
    """The seq-th company name of a country: showcase names first, then unique generated ones.

    Short names come first (tier 1) and names with a city or "Brothers" only once those run
    out, so small sets look like a real ledger and large ones still never repeat a name.
    """
    showcase = _SHOWCASE[country]
    if seq < len(showcase):
        return showcase[seq]
    k = seq - len(showcase)
    tiers = _NAME_PATTERNS[country]
    for tier in tiers:
        sizes = [_pattern_size(country, p) for p in tier]
        if k < sum(sizes) or tier is tiers[-1]:
            break
        k -= sum(sizes)
    # a prime stride (coprime to any tier size) walks all names of the tier in a scattered order
    j = (k * 2_654_435_761 + 12_345) % sum(sizes)
    for pattern, size in zip(tier, sizes):  # noqa: B007 - pattern is used after the loop, the one it stopped at
        if j < size:
            break
        j -= size
    j, s = divmod(j, len(_SURNAMES[country]))
    j, b = divmod(j, len(_BRANCHES[country]))
    j, legal = divmod(j, len(_LEGAL_FORMS[country]))
    return pattern.format(
        s=_SURNAMES[country][s],
        b=_BRANCHES[country][b],
        f=_LEGAL_FORMS[country][legal],
        c=_CITIES[country][j % len(_CITIES[country])],
    )


def _ascii_slug(text: str) -> str:
    """'Großhandel Jäger' -> 'grosshandel-jaeger': the ASCII form a domain name would use."""
    plain = _NOT_SLUG.sub("", text.translate(_TRANSLIT).lower())
    return "-".join(_SLUG_SPLIT.split(plain)).strip("-")


def _mangle_name(name: str, u: float, keep_identity: bool = False) -> str:
    """The payer name as a bank delivers it: upper case, no umlauts, punctuation lost, cut off.

    With ``keep_identity`` the result still names exactly one customer (no truncation, legal
    form kept), as a fuzzy-name match needs.
    """
    if keep_identity:
        if u < 0.3:
            return name.upper()
        plain = name.translate(_TRANSLIT).upper().replace("&", " ").replace(".", "").replace(",", "")
        return " ".join(plain.split())
    if u < 0.30:
        return name
    if u < 0.50:
        return name.upper()
    plain = " ".join(name.translate(_TRANSLIT).upper().replace("&", " ").replace(".", "").replace(",", "").split())
    if u < 0.75:
        return plain
    if u < 0.90:
        return plain[:27].rstrip()  # the 27-character name field of older bank formats
    for form in _LEGAL_SUFFIXES:  # legal form left off
        if name.endswith(" " + form):
            return name[: -len(form) - 1].rstrip(",")
    return name
